import { afterEach, describe, expect, it } from 'vitest';
import { NetworkError } from '../../machines/errors.js';
import { CONFIG, startMachine, startRefreshing, token, type MachineHarness } from './machineHarness.js';

/**
 * `offline`: `waiting` while the network is down, `backingOff` after a failed attempt. Each backoff step ends
 * with one attempt: the timer's, or in `open` the first online or wake signal's; in `firm` only the timer's.
 */

const T = 1_000_000;
const EXPIRED = T + 60_000;
let m: MachineHarness;
afterEach(() => m.stop());

/** Signed in with a fresh token, then the network drops. */
function waitingAt(callersCutBackoff = false) {
  m = startMachine({ callersCutBackoff });
  m.signIn(T);
  m.send({ type: 'env.offline' });
  expect(m.value()).toEqual({ offline: 'waiting' });
}

/** The refresh of an expired token failed with `error`. */
async function backingOffAfter(error: unknown = new NetworkError(), callersCutBackoff = false) {
  m = startRefreshing(T, EXPIRED, { callersCutBackoff });
  await m.fail(error);
}

describe('offline.waiting', () => {
  it('awaits the network with no request and no timer', () => {
    waitingAt();
    expect(m.snapshot().hasTag('awaitingNetwork')).toBe(true);
    expect(m.snapshot().hasTag('fetching')).toBe(false);
    expect(m.retryTimers).toEqual([]);
  });

  it('env.online with the token still fresh goes back to fresh, sending nothing', () => {
    waitingAt();
    m.send({ type: 'env.online', now: T + 1_000 });
    expect(m.value()).toBe('fresh');
    expect(m.context().online).toBe(true);
    expect(m.refreshes).toHaveLength(0);
  });

  it('env.online with the token no longer fresh makes the attempt, reason resume', () => {
    waitingAt();
    m.send({ type: 'env.online', now: T + 45_000 });
    expect(m.value()).toBe('refreshing');
    expect(m.context().online).toBe(true);
    expect(m.lastRefresh().input.reason).toBe('resume');
  });

  it.each([
    ['a wake signal (the network is still down)', 'env.wake'],
    ['a caller (callers keep to the network)', 'user.request'],
  ] as const)('ignores %s', (_, type) => {
    waitingAt();
    m.send({ type, now: EXPIRED });
    expect(m.value()).toEqual({ offline: 'waiting' });
    expect(m.refreshes).toHaveLength(0);
  });

  it('a caller tries at once with callersCutBackoff, reason retry', () => {
    waitingAt(true);
    m.send({ type: 'user.request', now: EXPIRED });
    expect(m.value()).toBe('refreshing');
    expect(m.lastRefresh().input.reason).toBe('retry');
  });

  it('a forced refresh tries at once, network down or not', () => {
    waitingAt();
    m.send({ type: 'user.refresh', now: T + 1_000 });
    expect(m.value()).toBe('refreshing');
    expect(m.lastRefresh().input.reason).toBe('forced');
  });
});

describe('offline.backingOff.open: no Retry-After, the failed attempt not started by a signal', () => {
  it('waits for the backoff of the failed attempt', async () => {
    await backingOffAfter();
    expect(m.value()).toEqual({ offline: { backingOff: 'open' } });
    expect(m.snapshot().hasTag('awaitingNetwork')).toBe(true);
    expect(m.retryTimers).toEqual([{ attempt: 1, retry: CONFIG.retry, retryAfterMs: undefined }]);
  });

  it('the timer makes the attempt, reason retry', async () => {
    await backingOffAfter();
    m.send({ type: 'timer.retryDue', now: EXPIRED + 1_000 });
    expect(m.value()).toBe('refreshing');
    expect(m.lastRefresh().input.reason).toBe('retry');
  });

  it('the timer with the network down waits for it instead', async () => {
    await backingOffAfter();
    m.send({ type: 'env.offline' });
    expect(m.value()).toEqual({ offline: { backingOff: 'open' } });
    m.send({ type: 'timer.retryDue', now: EXPIRED + 1_000 });
    expect(m.value()).toEqual({ offline: 'waiting' });
    expect(m.refreshes).toHaveLength(1);
  });

  it.each(['env.online', 'env.wake'] as const)('%s makes the attempt at once, reason resume', async (type) => {
    await backingOffAfter();
    m.send({ type, now: EXPIRED + 100 });
    expect(m.value()).toBe('refreshing');
    expect(m.lastRefresh().input.reason).toBe('resume');
  });

  it('env.online marks the network up', async () => {
    await backingOffAfter();
    m.send({ type: 'env.offline' });
    m.send({ type: 'env.online', now: EXPIRED + 100 });
    expect(m.context().online).toBe(true);
    expect(m.value()).toBe('refreshing');
  });

  it('env.wake with the network down is ignored', async () => {
    await backingOffAfter();
    m.send({ type: 'env.offline' });
    m.send({ type: 'env.wake', now: EXPIRED + 100 });
    expect(m.value()).toEqual({ offline: { backingOff: 'open' } });
  });

  it.each(['env.wake', 'env.online', 'timer.retryDue'] as const)(
    '%s while the token is fresh again goes to fresh, sending nothing',
    async (type) => {
      await backingOffAfter();
      // Another tab's token of this session arrives meanwhile; a forced refresh of it fails.
      m.send({ type: 'tab.token', token: token(EXPIRED), session: m.context().session!, now: EXPIRED });
      m.send({ type: 'user.refresh', now: EXPIRED + 1 });
      await m.fail();
      expect(m.value()).toEqual({ offline: { backingOff: 'open' } });
      m.send({ type, now: EXPIRED + 1_000 });
      expect(m.value()).toBe('fresh');
      expect(m.refreshes).toHaveLength(2);
    },
  );

  it("a resume attempt's failure makes the next step firm: a storm of signals costs one attempt per step", async () => {
    await backingOffAfter();
    m.send({ type: 'env.wake', now: EXPIRED + 100 });
    await m.fail();
    expect(m.value()).toEqual({ offline: { backingOff: 'firm' } });
    m.send({ type: 'env.wake', now: EXPIRED + 200 });
    m.send({ type: 'env.online', now: EXPIRED + 300 });
    expect(m.refreshes).toHaveLength(2);
  });

  it("a resume attempt answered with the held token failed too: the next step is firm", async () => {
    await backingOffAfter();
    m.send({ type: 'env.wake', now: EXPIRED + 100 });
    await m.answer(EXPIRED + 100, { accessToken: `a-${T}` });
    expect(m.value()).toEqual({ offline: { backingOff: 'firm' } });
    expect(m.context().error?.code).toBe('invalid_token');
  });
});

describe('offline.backingOff.firm', () => {
  it("for a sane Retry-After: the timer gets it, and online and wake signals wait for the timer", async () => {
    await backingOffAfter(new NetworkError(undefined, { retryAfterMs: 7_000 }));
    expect(m.value()).toEqual({ offline: { backingOff: 'firm' } });
    expect(m.retryTimers).toEqual([{ attempt: 1, retry: CONFIG.retry, retryAfterMs: 7_000 }]);
    m.send({ type: 'env.offline' });
    m.send({ type: 'env.online', now: EXPIRED + 100 });
    m.send({ type: 'env.wake', now: EXPIRED + 200 });
    expect(m.value()).toEqual({ offline: { backingOff: 'firm' } });
    expect(m.context().online).toBe(true);
    m.send({ type: 'timer.retryDue', now: EXPIRED + 7_000 });
    expect(m.value()).toBe('refreshing');
    expect(m.lastRefresh().input.reason).toBe('retry');
  });

  it('a Retry-After over an hour is capped at one', async () => {
    await backingOffAfter(new NetworkError(undefined, { retryAfterMs: 10 * 3_600_000 }));
    expect(m.value()).toEqual({ offline: { backingOff: 'firm' } });
    expect(m.context().retryAfterMs).toBe(3_600_000);
    expect(m.retryTimers[0]!.retryAfterMs).toBe(3_600_000);
  });

  it.each([Number.NaN, -1, 0, Number.POSITIVE_INFINITY])('a Retry-After of %s is ignored: open', async (retryAfterMs) => {
    await backingOffAfter(new NetworkError(undefined, { retryAfterMs }));
    expect(m.value()).toEqual({ offline: { backingOff: 'open' } });
    expect(m.context().retryAfterMs).toBeUndefined();
    expect(m.retryTimers[0]!.retryAfterMs).toBeUndefined();
  });
});

describe('callers during a backoff', () => {
  /** A failure that leaves the backoff step open, and one whose Retry-After makes it firm. */
  const steps = [
    ['open', new NetworkError()],
    ['firm', new NetworkError(undefined, { retryAfterMs: 7_000 })],
  ] as const;

  it.each(steps)('keep to it in %s by default', async (step, error) => {
    await backingOffAfter(error);
    m.send({ type: 'user.request', now: EXPIRED + 1 });
    expect(m.value()).toEqual({ offline: { backingOff: step } });
    expect(m.refreshes).toHaveLength(1);
  });

  it.each(steps)('cut it short in %s with callersCutBackoff, reason retry', async (_, error) => {
    await backingOffAfter(error, true);
    m.send({ type: 'user.request', now: EXPIRED + 1 });
    expect(m.value()).toBe('refreshing');
    expect(m.lastRefresh().input.reason).toBe('retry');
  });

  it.each(steps)('a forced refresh is sent in %s', async (_, error) => {
    await backingOffAfter(error);
    m.send({ type: 'user.refresh', now: EXPIRED + 1 });
    expect(m.value()).toBe('refreshing');
    expect(m.lastRefresh().input.reason).toBe('forced');
  });
});
