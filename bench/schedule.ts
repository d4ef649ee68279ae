/** Scenarios and their seeded, deterministic schedules: caller asks, faults, sleeps. Times are local-clock ms. */

/** Midnight of the simulated day every scenario starts at (the bench's own start; tests use sessionchart/testing's T0). */
export const DAY_START = Date.UTC(2025, 0, 1, 0, 0, 0);
export const HOUR = 3_600_000;
const MINUTE = 60_000;

export interface Scenario {
  name: string;
  /** N: callers, spread over the tabs (caller i lives in tab i % K). */
  callers: number;
  /** K: tabs of one origin. */
  tabs: number;
  lifeS: number;
  /** Outages, 5xx bursts, 429s, slow responses and sleeps. */
  hostile: boolean;
  /** Server clock minus local clock. */
  skewMs: number;
  durationMs: number;
  seed: number;
}

export type FaultKind = 'outage' | 'offline' | '5xx' | '429' | 'slow';

export interface FaultWindow {
  kind: FaultKind;
  from: number;
  to: number;
  /** 429: the Retry-After the server sends, s. */
  retryAfterS?: number;
  /** slow: the response time, ms. */
  latencyMs?: number;
}

export type SimEvent =
  | { at: number; kind: 'ask'; first: number; count: number }
  | { at: number; kind: 'sleep'; forMs: number }
  | { at: number; kind: 'wake' }
  | { at: number; kind: 'online'; up: boolean };

export interface Schedule {
  faults: FaultWindow[];
  sleeps: Array<{ at: number; forMs: number }>;
  events: SimEvent[];
}

/** mulberry32: small, fast and seedable. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Every caller asks about once a minute, but all callers together at most this often (ms between asks). */
const CALLER_INTERVAL_MS = 60_000;
const MIN_GAP_MS = 2_000;
/** Every ~15 min a page render: up to this many callers ask in the same millisecond. */
const BURST_EVERY_MS = 15 * MINUTE;
const BURST_SIZE = 200;

function faultWindows(random: () => number, durationMs: number): FaultWindow[] {
  const windows: FaultWindow[] = [];
  const between = (low: number, high: number) => low + random() * (high - low);
  const add = (kind: FaultKind, count: number, minMinutes: number, maxMinutes: number, extra = () => ({})) => {
    for (let i = 0; i < count; i += 1) {
      const from = Math.round(DAY_START + HOUR + random() * (durationMs - 2 * HOUR));
      windows.push({ kind, from, to: Math.round(from + between(minMinutes, maxMinutes) * MINUTE), ...extra() });
    }
  };
  add('outage', 3, 2, 20);
  add('offline', 2, 2, 15);
  add('5xx', 4, 1, 10);
  add('429', 3, 2, 10, () => ({ retryAfterS: Math.round(between(30, 120)) }));
  add('slow', 4, 5, 30, () => ({ latencyMs: Math.round(between(4_000, 12_000)) }));
  return windows.sort((a, b) => a.from - b.from);
}

/** Three sleeps of 5 min to 2 h, well apart. */
function sleepsOf(random: () => number, durationMs: number) {
  const slot = (durationMs - 2 * HOUR) / 3;
  return [0, 1, 2].map((i) => ({
    at: Math.round(DAY_START + HOUR + i * slot + random() * (slot / 2)),
    forMs: Math.round((5 + random() * 115) * MINUTE),
  }));
}

export function buildSchedule(scenario: Scenario): Schedule {
  const random = seededRandom(scenario.seed);
  const end = DAY_START + scenario.durationMs;
  const faults = scenario.hostile ? faultWindows(random, scenario.durationMs) : [];
  const sleeps = scenario.hostile ? sleepsOf(random, scenario.durationMs) : [];
  const asleep = (at: number) => sleeps.some((s) => at >= s.at && at < s.at + s.forMs);
  const events: SimEvent[] = [];
  const pickCaller = () => Math.floor(random() * scenario.callers);

  // Background asks: a Poisson process over all callers.
  const meanGap = Math.max(CALLER_INTERVAL_MS / scenario.callers, MIN_GAP_MS);
  for (let at = DAY_START + 1_000; at < end; at += Math.max(1, Math.round(-Math.log(1 - random()) * meanGap))) {
    if (!asleep(at)) events.push({ at, kind: 'ask', first: pickCaller(), count: 1 });
  }
  const burst = Math.min(scenario.callers, BURST_SIZE);
  for (let at = DAY_START + BURST_EVERY_MS; at < end; at += Math.round(BURST_EVERY_MS * (0.5 + random()))) {
    if (burst > 1 && !asleep(at)) events.push({ at, kind: 'ask', first: pickCaller(), count: burst });
  }
  for (const sleep of sleeps) {
    const wakeAt = sleep.at + sleep.forMs;
    events.push({ at: sleep.at, kind: 'sleep', forMs: sleep.forMs }, { at: wakeAt, kind: 'wake' });
    // The lid opens and every caller asks at once.
    events.push({ at: wakeAt, kind: 'ask', first: 0, count: scenario.callers });
  }
  for (const fault of faults.filter((f) => f.kind === 'offline')) {
    events.push({ at: fault.from, kind: 'online', up: false }, { at: fault.to, kind: 'online', up: true });
  }
  // Within a millisecond: a sleep first (it moves the clock), then the network's state, then a wake-up, then asks.
  // A network change while asleep is delivered, at once, before the wake-up: the device knows it when it wakes.
  const rank = { sleep: 0, online: 1, wake: 2, ask: 3 } as const;
  events.sort((a, b) => a.at - b.at || rank[a.kind] - rank[b.kind]);
  return { faults, sleeps, events };
}

/** The fault in force at `at` (local ms), most severe first; `slow` only when nothing else is. */
export function faultAt(faults: readonly FaultWindow[], at: number): FaultWindow | null {
  let found: FaultWindow | null = null;
  const severity: Record<FaultKind, number> = { offline: 5, outage: 4, '5xx': 3, '429': 2, slow: 1 };
  for (const window of faults) {
    if (window.from > at) break;
    if (at < window.to && (found === null || severity[window.kind] > severity[found.kind])) found = window;
  }
  return found;
}
