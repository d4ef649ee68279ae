import { describe, expect, it, vi } from 'vitest';
import { createEngineClock } from '../../src/engine/clock.js';

/** The engine's clock: the wall clock's forward jumps are taken, its backward ones are counted and undone. */

/** A wall clock the test sets by hand. */
function wallAt(start: number) {
  let wall = start;
  return {
    read: () => wall,
    set: (time: number) => (wall = time),
  };
}

describe('createEngineClock', () => {
  it('reads the wall clock while it only goes forward', () => {
    const wall = wallAt(1_000);
    const clock = createEngineClock(wall.read);
    expect(clock.now()).toBe(1_000);
    wall.set(61_000); // a sleep, or a clock set forward
    expect(clock.now()).toBe(61_000);
    expect(clock.toWall(61_000)).toBe(61_000);
    expect(clock.fromWall(61_000)).toBe(61_000);
  });

  it('keeps counting from where it was when the wall clock goes back', () => {
    const wall = wallAt(1_000_000);
    const clock = createEngineClock(wall.read);
    wall.set(400_000); // set back 10 minutes
    expect(clock.now()).toBe(1_000_000);
    wall.set(401_000);
    expect(clock.now()).toBe(1_001_000);
  });

  it('converts between engine time and wall time by the set-backs seen so far', () => {
    const wall = wallAt(1_000_000);
    const clock = createEngineClock(wall.read);
    wall.set(400_000);
    clock.now();
    expect(clock.toWall(1_060_000)).toBe(460_000);
    expect(clock.fromWall(460_000)).toBe(1_060_000);
    wall.set(300_000); // and again
    expect(clock.now()).toBe(1_000_000);
    expect(clock.toWall(1_000_000)).toBe(300_000);
  });

  it('counts a set-back made between two reads once a timer proves how much time has passed', () => {
    const wall = wallAt(1_000_000);
    const clock = createEngineClock(wall.read);
    // 10 s pass unread, then the clock is set back 10 min: the next read sees only 590 s of it.
    wall.set(1_010_000 - 600_000);
    expect(clock.now()).toBe(1_010_000 - 10_000);
    // A 45 s timer armed at 1_000_000 fires 35 s later by the wall: 45 s have passed.
    wall.set(1_045_000 - 600_000);
    expect(clock.now(1_045_000)).toBe(1_045_000);
    expect(clock.toWall(1_045_000)).toBe(1_045_000 - 600_000);
    expect(clock.now(1_000_000)).toBe(1_045_000); // a floor already passed changes nothing
  });

  it('reads Date.now by default (so fake timers drive it)', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(5_000);
      const clock = createEngineClock();
      vi.setSystemTime(9_000);
      expect(clock.now()).toBe(9_000);
    } finally {
      vi.useRealTimers();
    }
  });
});
