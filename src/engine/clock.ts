/**
 * The engine's clock: `Date.now()` (so fake timers drive it), except that it never goes backwards. When the
 * wall clock is seen to go back (set back by hand, or by a time sync), the engine's clock keeps counting from
 * where it was, so every held expiry moves back with the wall clock and a clock set back never extends a token.
 * Forward jumps (a laptop that slept, a clock set forward) are taken as they are: expiry is judged by them.
 */
export interface EngineClock {
  /**
   * Engine time: local-clock ms plus every set-back seen so far, and never less than `atLeast` (a time a timer
   * proves has been reached: a set-back made between two reads, which they cannot see, is counted that way).
   */
  now(atLeast?: number): number;
  /** Engine time back to wall-clock ms, for what the engine shows and tells other tabs. */
  toWall(time: number): number;
  /** Wall-clock ms to engine time, for what other tabs tell the engine. */
  fromWall(time: number): number;
}

export function createEngineClock(read: () => number = Date.now): EngineClock {
  let lastWall = read();
  let setBackMs = 0;
  return {
    now(atLeast = -Infinity) {
      const wall = read();
      if (wall < lastWall) setBackMs += lastWall - wall;
      lastWall = wall;
      if (wall + setBackMs < atLeast) setBackMs = atLeast - wall;
      return wall + setBackMs;
    },
    toWall: (time) => time - setBackMs,
    fromWall: (time) => time + setBackMs,
  };
}
