import { afterEach, describe, expect, it } from 'vitest';
import { startMachine, token, type MachineHarness } from './machineHarness.js';

/** A held token: `fresh` waits for the refresh to be due, `stale` starts one refresh. */

const T = 1_000_000;
const DUE = T + 45_000; // 60 s token, 15 s threshold
const UNSERVABLE = T + 55_000; // 5 s leeway
let m: MachineHarness;
afterEach(() => m.stop());

function freshAt(now = T) {
  m = startMachine();
  m.signIn(now);
  expect(m.value()).toBe('fresh');
}

describe('fresh', () => {
  it('arms the refresh timer for the lead before expiry', () => {
    freshAt();
    expect(m.refreshTimers).toEqual([{ at: DUE, now: T }]);
  });

  it('arms it at half-life for a short token', () => {
    m = startMachine();
    m.send({ type: 'user.signIn', token: token(T, { expiresAt: T + 20_000 }), now: T + 1_000 });
    expect(m.refreshTimers).toEqual([{ at: T + 10_000, now: T + 1_000 }]);
  });

  it('settles when the timer says the refresh is due', () => {
    freshAt();
    m.send({ type: 'timer.refreshDue', now: DUE });
    expect(m.value()).toBe('stale');
  });

  it('a timer that fired early re-arms from the clock', () => {
    freshAt();
    m.send({ type: 'timer.refreshDue', now: DUE - 1 });
    expect(m.value()).toBe('fresh');
    expect(m.refreshTimers).toEqual([
      { at: DUE, now: T },
      { at: DUE, now: DUE - 1 },
    ]);
  });

  it('ignores a clock check while still fresh, without re-arming', () => {
    freshAt();
    m.send({ type: 'clock.check', now: DUE - 1 });
    expect(m.value()).toBe('fresh');
    expect(m.refreshTimers).toHaveLength(1);
  });

  it('moves on when a clock check finds it no longer fresh', () => {
    freshAt();
    m.send({ type: 'clock.check', now: DUE });
    expect(m.value()).toBe('stale');
    m.stop();
    freshAt();
    m.send({ type: 'clock.check', now: UNSERVABLE });
    expect(m.value()).toBe('refreshing');
    expect(m.lastRefresh().input.reason).toBe('expired');
  });

  it('a wake that finds the token expired refreshes with reason resume', () => {
    freshAt();
    m.send({ type: 'env.wake', now: UNSERVABLE });
    expect(m.value()).toBe('refreshing');
    expect(m.lastRefresh().input.reason).toBe('resume');
  });

  it('re-arms its timer on wake while fresh, and settles otherwise', () => {
    freshAt();
    m.send({ type: 'env.wake', now: T + 1_000 });
    expect(m.value()).toBe('fresh');
    expect(m.refreshTimers.at(-1)).toEqual({ at: DUE, now: T + 1_000 });
    m.send({ type: 'env.wake', now: DUE });
    expect(m.value()).toBe('stale');
  });

  it('a forced refresh starts one with reason forced, satisfied by any token issued after the held one', () => {
    freshAt();
    m.send({ type: 'user.refresh', now: T + 1 });
    expect(m.value()).toBe('refreshing');
    expect(m.lastRefresh().input).toEqual({
      session: m.context().session,
      refreshToken: `r-${T}`,
      reason: 'forced',
      satisfiedAfter: T,
    });
  });

  it('ignores a plain request', () => {
    freshAt();
    m.send({ type: 'user.request', now: T + 1 });
    expect(m.value()).toBe('fresh');
    expect(m.refreshes).toHaveLength(0);
  });

  it('goes to offline.waiting when the network drops', () => {
    freshAt();
    m.send({ type: 'env.offline' });
    expect(m.value()).toEqual({ offline: 'waiting' });
    expect(m.context().online).toBe(false);
  });
});

describe('stale', () => {
  function staleAt() {
    m = startMachine();
    m.send({ type: 'user.signIn', token: token(T), now: DUE });
    expect(m.value()).toBe('stale');
  }

  it('starts the refresh when its turn comes, with reason stale', async () => {
    staleAt();
    expect(m.refreshes).toHaveLength(0);
    await m.grantTurn();
    expect(m.value()).toBe('refreshing');
    expect(m.lastRefresh().input.reason).toBe('stale');
  });

  it('sends the refresh at the time its turn came: a refused one ends the session then', async () => {
    staleAt();
    await m.grantTurn(DUE + 500);
    await m.refuse();
    expect(m.value()).toBe('signedOut');
    expect(m.context().endedAt).toBe(DUE + 500);
  });

  it('refreshes at once when a clock check finds the token no longer servable', () => {
    staleAt();
    m.send({ type: 'clock.check', now: UNSERVABLE - 1 });
    expect(m.value()).toBe('stale');
    m.send({ type: 'clock.check', now: UNSERVABLE });
    expect(m.value()).toBe('refreshing');
    expect(m.lastRefresh().input.reason).toBe('expired');
  });

  it.each([
    ['user.request', 'stale'],
    ['user.refresh', 'forced'],
    ['env.wake', 'resume'],
  ] as const)('%s starts the refresh with reason %s', (type, reason) => {
    staleAt();
    m.send({ type, now: DUE + 1 });
    expect(m.value()).toBe('refreshing');
    expect(m.lastRefresh().input.reason).toBe(reason);
  });

  it('goes to offline.waiting when the network drops', () => {
    staleAt();
    m.send({ type: 'env.offline' });
    expect(m.value()).toEqual({ offline: 'waiting' });
    expect(m.context().online).toBe(false);
  });
});
