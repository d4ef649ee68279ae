import { afterEach, describe, expect, it, vi } from 'vitest';
import { NetworkError, type SessionInfo } from '../../src/index.js';
import { T0, createHarness, flush, rejectionOf, useEngineClock } from '../support/engineHarness.js';

useEngineClock();
afterEach(() => vi.restoreAllMocks());

describe('the public snapshot changes with each field it reports', () => {
  it('a new expiry alone is a new snapshot (another token of the same session at sign-in)', async () => {
    const h = createHarness();
    h.signIn({ sid: 's1' });
    const before = h.engine.getSnapshot();
    await vi.advanceTimersByTimeAsync(1_000);
    h.signIn({ sid: 's1' });
    const after = h.engine.getSnapshot();
    expect(after).not.toBe(before);
    expect(after).toMatchObject({ status: 'fresh', sessionKey: 's1', expiresAt: T0 + 61_000, lastRefreshAt: null });
  });

  it('a new refresh time alone is a new snapshot (a refresh answering the same expiry)', async () => {
    const h = createHarness();
    const expiresAt = T0 + 120_000;
    h.engine.signIn(h.issueOpaque({ expiresAt, sessionKey: 's1' }));
    const before = h.engine.getSnapshot();
    await vi.advanceTimersByTimeAsync(1_000);
    const forced = h.getToken({ forceRefresh: true });
    h.lastCall().resolve(h.issueOpaque({ expiresAt, sessionKey: 's1' }));
    await forced;
    const after = h.engine.getSnapshot();
    expect(after).not.toBe(before);
    expect(after).toMatchObject({ status: 'fresh', expiresAt, lastRefreshAt: T0 + 1_000 });
  });
});

describe('subscribe', () => {
  it('stays quiet while the machine moves without changing anything the snapshot reports', () => {
    const h = createHarness();
    h.signIn({ sid: 's1' });
    const listener = vi.fn();
    h.engine.subscribe(listener);
    const machineBefore = h.engine.actor.getSnapshot();
    h.resume$.next(); // a wake in fresh re-arms the refresh timer: a new machine snapshot, the same public one
    expect(h.engine.actor.getSnapshot()).not.toBe(machineBefore);
    expect(listener).not.toHaveBeenCalled();
  });
});

describe('session$ and token$ follow the actor to its end', () => {
  it('complete when the engine stops', () => {
    const h = createHarness();
    const completed: string[] = [];
    h.engine.session$.subscribe({ complete: () => completed.push('session$') });
    h.engine.token$.subscribe({ complete: () => completed.push('token$') });
    h.engine.stop();
    expect(completed).toEqual(['session$', 'token$']);
  });

  it('go on when online$ fails: the engine runs on as if always online', async () => {
    const h = createHarness({ online: false });
    const sessions: Array<string | null> = [];
    let ended = false;
    h.engine.session$.subscribe({ next: (s) => sessions.push(s?.sessionKey ?? null), complete: () => (ended = true) });
    h.online$.error(new Error('the online$ source failed'));
    await flush();
    expect(h.engine.actor.getSnapshot().status).toBe('active');
    h.signIn({ sid: 's1' });
    expect(h.engine.getSnapshot().status).toBe('fresh');
    expect(sessions).toEqual([null, 's1']);
    expect(ended).toBe(false);
  });

  it('release their subscription to the actor when unsubscribed', () => {
    const h = createHarness();
    const released = vi.fn();
    const subscribe = h.engine.actor.subscribe.bind(h.engine.actor);
    vi.spyOn(h.engine.actor, 'subscribe').mockImplementation(((observer: never) => {
      const subscription = subscribe(observer);
      return {
        unsubscribe: () => {
          released();
          subscription.unsubscribe();
        },
      };
    }) as never);
    const sessions: Array<SessionInfo | null> = [];
    const subscription = h.engine.session$.subscribe((session) => sessions.push(session));
    subscription.unsubscribe();
    expect(released).toHaveBeenCalledOnce();
    h.signIn({ sid: 's1' });
    expect(sessions).toEqual([null]);
  });
});

describe('what a rejected getToken carries', () => {
  /** Signed in, then the clock jumps past the token's life (a sleep): getToken has to wait for a refresh. */
  function expiredSession(options: { online?: boolean } = {}) {
    const h = createHarness(options);
    h.signIn({ sid: 's1' });
    vi.setSystemTime(T0 + 60_000);
    return h;
  }

  it("a failed attempt: that attempt's own error", async () => {
    const h = expiredSession();
    const pending = h.getToken();
    const fault = new NetworkError('upstream 503');
    h.lastCall().fail(fault);
    expect(await rejectionOf(pending)).toBe(fault);
  });

  it('the network known to be down: a network fault that says so', async () => {
    const h = expiredSession({ online: false });
    const rejection = (await rejectionOf(h.getToken())) as NetworkError;
    expect(rejection.code).toBe('network');
    expect(rejection.message).not.toBe('');
  });

  it('a stopped engine: aborted', async () => {
    const h = expiredSession();
    const pending = h.getToken();
    h.engine.stop();
    const rejection = (await rejectionOf(pending)) as Error;
    expect(rejection).toMatchObject({ code: 'aborted' });
    expect(rejection.message).not.toBe('');
  });
});
