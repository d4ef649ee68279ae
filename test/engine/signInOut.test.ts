import { describe, expect, it, vi } from 'vitest';
import { AuthError, type SessionStatus } from '../../src/index.js';
import { T0, createHarness, flush, rejectionOf, track, useEngineClock, type Harness } from '../support/engineHarness.js';

useEngineClock();

/** Puts a signed-in engine (or not) into one state; synchronous where a microtask would move it on. */
const states: Array<{ status: SessionStatus; label: string; enter: (h: Harness) => void | Promise<void> }> = [
  { status: 'signedOut', label: 'signedOut', enter: () => {} },
  { status: 'fresh', label: 'fresh', enter: (h) => void h.signIn() },
  {
    status: 'stale',
    label: 'stale',
    enter: (h) => {
      h.signIn();
      vi.setSystemTime(T0 + 50_000);
    },
  },
  {
    status: 'refreshing',
    label: 'refreshing',
    enter: async (h) => {
      h.signIn();
      await vi.advanceTimersByTimeAsync(45_000);
    },
  },
  {
    status: 'offline',
    label: 'offline (network down)',
    enter: (h) => {
      h.signIn();
      h.online$.next(false);
    },
  },
  {
    status: 'offline',
    label: 'offline (backing off)',
    enter: async (h) => {
      h.signIn();
      await vi.advanceTimersByTimeAsync(45_000);
      h.lastCall().fail();
      await flush();
    },
  },
  {
    status: 'rotated',
    label: 'rotated',
    enter: (h) => {
      h.signIn();
      h.engine.rotate();
    },
  },
];

describe('signIn', () => {
  it('installs a session whose token is served at once', async () => {
    const h = createHarness();
    const { accessToken } = h.signIn({ sid: 'abc', sub: 'user-9' });
    const snapshot = h.engine.getSnapshot();
    expect(snapshot.status).toBe('fresh');
    expect(snapshot.sessionKey).toBe('abc');
    expect(h.peekToken()).toBe(accessToken);
    expect(await h.getToken()).toBe(accessToken);
    expect(h.calls).toHaveLength(0);
  });

  it('takes the session key from TokenSet.sessionKey, else the first claim of sessionKeyClaims', () => {
    const h = createHarness({ sessionKeyClaims: ['sub', 'sid'] });
    h.engine.signIn({ ...h.issue({ sid: 's1' }), sessionKey: 'given' });
    expect(h.engine.getSnapshot().sessionKey).toBe('given');
    h.engine.signIn(h.issue({ sid: 's2', sub: 'user-2' }));
    expect(h.engine.getSnapshot().sessionKey).toBe('user-2');
  });

  it('with a short-lived token serves it and refreshes at half-life, not at once', async () => {
    const h = createHarness();
    const { accessToken } = h.signIn({ lifeSeconds: 4 });
    expect(h.peekToken()).toBe(accessToken);
    await flush();
    expect(h.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(h.calls).toHaveLength(1);
    expect(h.lastCall().ctx.reason).toBe('stale');
  });

  it('of the same session replaces the token and re-arms the refresh timer from it', async () => {
    const h = createHarness();
    h.signIn({ sid: 's1' });
    await vi.advanceTimersByTimeAsync(30_000);
    const { accessToken } = h.signIn({ sid: 's1' });
    expect(h.peekToken()).toBe(accessToken);
    await vi.advanceTimersByTimeAsync(44_999);
    expect(h.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls).toHaveLength(1);
  });
});

describe('signOut', () => {
  it.each(states)('is immediate and unconditional from $label', async ({ status, enter }) => {
    const h = createHarness();
    const entered = enter(h);
    if (entered) await entered;
    expect(h.engine.getSnapshot().status).toBe(status);

    h.engine.signOut();
    const snapshot = h.engine.getSnapshot();
    expect(snapshot).toMatchObject({ status: 'signedOut', sessionKey: null, expiresAt: null });
    expect(h.peekToken()).toBeNull();
    expect(h.calls.every((call) => call.settled || call.ctx.signal.aborted)).toBe(true);

    // Late results of aborted requests change nothing; no timer starts a request again.
    for (const call of h.calls.filter((c) => !c.settled)) call.respond();
    const made = h.calls.length;
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(h.calls).toHaveLength(made);
    expect(h.engine.getSnapshot().status).toBe('signedOut');
    expect(h.peekToken()).toBeNull();
    expect(await h.getToken()).toBeNull();
  });

  it('aborts the in-flight refresh, ignores its late result and resolves waiting callers with null', async () => {
    const h = createHarness();
    h.signIn();
    const tokens: Array<string | null> = [];
    h.engine.token$.subscribe((token) => tokens.push(token));
    vi.setSystemTime(T0 + 70_000);
    const waiting = track(h.getToken());
    await flush();
    const inFlight = h.lastCall();
    expect(inFlight.ctx.signal.aborted).toBe(false);

    h.engine.signOut();
    expect(inFlight.ctx.signal.aborted).toBe(true);
    await flush();
    expect(waiting.settled).toBe(true);
    expect(waiting.value).toBeNull();

    const late = inFlight.respond();
    await flush();
    expect(h.engine.getSnapshot().status).toBe('signedOut');
    expect(h.peekToken()).toBeNull();
    expect(await h.getToken()).toBeNull();
    expect(tokens).not.toContain(late.accessToken);
    expect(tokens.at(-1)).toBeNull();
  });

  it('resolves a waiting forced caller with null', async () => {
    const h = createHarness();
    h.signIn();
    const forced = track(h.getToken({ forceRefresh: true }));
    await flush();
    h.engine.signOut();
    await flush();
    expect(forced.settled).toBe(true);
    expect(forced.value).toBeNull();
  });

  it('forgets the refresh token', async () => {
    const h = createHarness();
    h.signIn({ refreshToken: 'rt-1' });
    h.engine.signOut();
    h.signIn();
    await vi.advanceTimersByTimeAsync(45_000);
    expect(h.lastCall().ctx.refreshToken).toBeUndefined();
  });

  it('an AuthError from a background refresh ends the session like a sign-out', async () => {
    const h = createHarness();
    h.signIn();
    const sessions: Array<string | null> = [];
    const tokens: Array<string | null> = [];
    h.engine.session$.subscribe((session) => sessions.push(session?.sessionKey ?? null));
    h.engine.token$.subscribe((token) => tokens.push(token));
    await vi.advanceTimersByTimeAsync(45_000);
    h.lastCall().fail(new AuthError());
    await flush();
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'signedOut', sessionKey: null });
    expect(sessions).toEqual(['s1', null]);
    expect(tokens.at(-1)).toBeNull();
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(h.calls).toHaveLength(1);
  });

  it('a sign-in after a sign-out starts a new session', async () => {
    const h = createHarness();
    h.signIn({ sid: 'first' });
    h.engine.signOut();
    const { accessToken } = h.signIn({ sid: 'second' });
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'fresh', sessionKey: 'second' });
    expect(await h.getToken()).toBe(accessToken);
  });
});

describe('stop', () => {
  it('stops the timers: no refresh after stop', async () => {
    const h = createHarness();
    h.signIn();
    await vi.advanceTimersByTimeAsync(10_000);
    h.engine.stop();
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(h.calls).toHaveLength(0);
  });

  it('rejects a pending getToken with code aborted and aborts the in-flight refresh', async () => {
    const h = createHarness();
    h.signIn();
    vi.setSystemTime(T0 + 70_000);
    const pending = h.getToken();
    await flush();
    h.engine.stop();
    expect((await rejectionOf(pending)).code).toBe('aborted');
    expect(h.lastCall().ctx.signal.aborted).toBe(true);
  });

  it('no longer reacts to the network or to resume after stop', async () => {
    const h = createHarness({ online: false });
    h.signIn();
    vi.setSystemTime(T0 + 70_000);
    h.engine.stop();
    h.online$.next(true);
    h.resume$.next();
    await flush();
    expect(h.calls).toHaveLength(0);
  });
});
