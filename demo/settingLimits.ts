/** The token server settings the demo accepts: the page refuses anything else with a message, the server too. */
export interface Range {
  min: number;
  max: number;
}

export const LIFE_SECONDS: Range = { min: 5, max: 3_600 };
export const LATENCY_MS: Range = { min: 0, max: 30_000 };
/** The server clock may be off by an hour either way. */
export const CLOCK_AHEAD_MS: Range = { min: -3_600_000, max: 3_600_000 };

/** A whole number within the range. */
export const isWithin = (value: unknown, { min, max }: Range): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
