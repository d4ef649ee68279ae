import { describe, expect, it, vi } from 'vitest';
import { AuthError, type SessionInfo } from '../../src/index.js';
import {
  T0,
  createHarness,
  flush,
  track,
  useEngineClock,
  type Harness,
  type RefreshCall,
} from '../support/engineHarness.js';

useEngineClock();

function watch(h: Harness) {
  const sessions: Array<SessionInfo | null> = [];
  const tokens: Array<string | null> = [];
  h.engine.session$.subscribe((session) => sessions.push(session));
  h.engine.token$.subscribe((token) => tokens.push(token));
  return { sessions, tokens };
}

describe('signIn with another session while refreshing', () => {
  it('serves the new token at once and emits the new session; the old request runs on, its answer unused', async () => {
    const h = createHarness();
    h.signIn({ sid: 's1', refreshToken: 'rt-1' });
    await vi.advanceTimersByTimeAsync(45_000);
    const old = h.lastCall();
    const seen = watch(h);

    const { accessToken } = h.signIn({ sid: 's2', refreshToken: 'rt-b1' });
    expect(old.ctx.signal.aborted).toBe(false);
    expect(h.peekToken()).toBe(accessToken);
    expect(h.engine.getSnapshot().sessionKey).toBe('s2');
    expect(seen.sessions.map((s) => s?.sessionKey)).toEqual(['s1', 's2']);

    // The old request answers late, even with a token of its own session: neither of its tokens is used.
    const late = old.respond({ sid: 's1', refreshToken: 'rt-2' });
    await flush();
    expect(h.peekToken()).toBe(accessToken);
    expect(await h.getToken()).toBe(accessToken);
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'fresh', sessionKey: 's2' });
    expect(seen.tokens).not.toContain(late.accessToken);
    expect(seen.sessions).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(45_000);
    expect(h.lastCall().ctx).toMatchObject({ refreshToken: 'rt-b1', session: { sessionKey: 's2' } });
  });
});

describe('signIn of another session', () => {
  it('does not keep the old session refresh token for the new session (invariant 2)', async () => {
    const h = createHarness();
    h.signIn({ sid: 's1', refreshToken: 'rt-1' });
    h.signIn({ sid: 's2' });
    await vi.advanceTimersByTimeAsync(45_000);
    expect(h.lastCall().ctx.session?.sessionKey).toBe('s2');
    expect(h.lastCall().ctx.refreshToken).toBeUndefined();
  });
});

describe('rotate()', () => {
  it('drops the token at once and fetches the new session with reason rotated while callers wait', async () => {
    const h = createHarness();
    const held = h.signIn({ sid: 's1', refreshToken: 'rt-1' });
    const seen = watch(h);

    h.engine.rotate();
    expect(h.peekToken()).toBeNull();
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'rotated', expiresAt: null });
    expect(seen.tokens).toEqual([held.accessToken, null]);
    await flush();
    expect(h.calls).toHaveLength(1);
    const { ctx } = h.lastCall();
    expect(ctx).toMatchObject({ reason: 'rotated', refreshToken: 'rt-1' });
    expect(ctx.session?.sessionKey).toBe('s1');

    const waiting = track(h.getToken());
    await flush();
    expect(waiting.settled).toBe(false);
    const { accessToken } = h.lastCall().respond({ sid: 's2' });
    await flush();
    expect(waiting.value).toBe(accessToken);
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'fresh', sessionKey: 's2' });
    expect(seen.sessions.map((s) => s?.sessionKey)).toEqual(['s1', 's2']);
    expect(seen.tokens).toEqual([held.accessToken, null, accessToken]);
  });

  it('lets the refresh in flight finish, keeps its refresh token, never serves its access token, then fetches', async () => {
    const h = createHarness();
    const held = h.signIn({ sid: 's1', refreshToken: 'rt-1' });
    await vi.advanceTimersByTimeAsync(45_000);
    const inFlight = h.lastCall();
    const seen = watch(h);

    h.engine.rotate();
    expect(inFlight.ctx.signal.aborted).toBe(false);
    expect(h.peekToken()).toBeNull();
    expect(h.engine.getSnapshot().status).toBe('rotated');
    const waiting = track(h.getToken());
    await flush();
    expect(h.calls).toHaveLength(1); // the rotation waits: one request in flight at most

    const before = inFlight.respond({ sid: 's1', refreshToken: 'rt-2' });
    await flush();
    expect(h.calls).toHaveLength(2);
    expect(h.lastCall().ctx).toMatchObject({ reason: 'rotated', refreshToken: 'rt-2' });
    expect(h.peekToken()).toBeNull();
    expect(waiting.settled).toBe(false);

    const { accessToken } = h.lastCall().respond({ sid: 's2', refreshToken: 'rt-3' });
    await flush();
    expect(waiting.value).toBe(accessToken);
    expect(seen.tokens).not.toContain(before.accessToken);
    expect(seen.tokens.slice(1)).not.toContain(held.accessToken);
  });

  it('an answer that is the dropped token itself is a failed attempt, never served', async () => {
    const h = createHarness({ retry: { jitter: false } });
    const held = h.signIn({ sid: 's1' });
    h.engine.rotate();
    await flush();
    h.lastCall().resolve(held); // a caching server answers with the token the rotation dropped
    await flush();
    expect(h.peekToken()).toBeNull();
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'rotated' });
    expect(h.engine.getSnapshot().error?.code).toBe('invalid_token');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.calls).toHaveLength(2);
    expect(h.lastCall().ctx.reason).toBe('rotated');
  });

  it('lets a second rotate() join the rotation under way instead of aborting its request', async () => {
    const h = createHarness();
    h.signIn({ sid: 's1', refreshToken: 'rt-1' });
    h.engine.rotate();
    await flush();
    const rotation = h.lastCall();

    h.engine.rotate();
    await flush();
    expect(rotation.ctx.signal.aborted).toBe(false);
    expect(h.calls).toHaveLength(1);
    const { accessToken } = rotation.respond({ sid: 's2', refreshToken: 'rt-2' });
    expect(await h.getToken()).toBe(accessToken);
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'fresh', sessionKey: 's2' });
  });

  it('keeps callers waiting through network faults of the rotated fetch, then serves the new session', async () => {
    const h = createHarness({ retry: { jitter: false } });
    h.signIn({ sid: 's1' });
    h.engine.rotate();
    await flush();
    h.lastCall().fail();
    await flush();
    expect(h.engine.getSnapshot().status).toBe('rotated');
    expect(h.peekToken()).toBeNull();

    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.calls).toHaveLength(2);
    expect(h.lastCall().ctx.reason).toBe('rotated');
    const { accessToken } = h.lastCall().respond({ sid: 's2' });
    expect(await h.getToken()).toBe(accessToken);
  });

  it('ends the session when the rotated fetch meets an AuthError', async () => {
    const h = createHarness();
    h.signIn();
    h.engine.rotate();
    const waiting = h.getToken();
    await flush();
    h.lastCall().fail(new AuthError());
    expect(await waiting).toBeNull();
    expect(h.engine.getSnapshot().status).toBe('signedOut');
  });

  it('does nothing while signed out', async () => {
    const h = createHarness();
    h.engine.rotate();
    await flush();
    expect(h.engine.getSnapshot().status).toBe('signedOut');
    expect(h.calls).toHaveLength(0);
  });

  it('gives an opaque rotated session a new key', async () => {
    const h = createHarness();
    h.engine.signIn(h.issueOpaque({ expiresIn: 60 }));
    const before = h.engine.getSnapshot().sessionKey;
    h.engine.rotate();
    await flush();
    const { accessToken } = h.issueOpaque({ expiresIn: 60 });
    h.lastCall().resolve({ accessToken, expiresIn: 60 }); // no session key: the engine makes one
    expect(await h.getToken()).toBe(accessToken);
    const after = h.engine.getSnapshot().sessionKey;
    expect(after).toEqual(expect.any(String));
    expect(after).not.toBe(before);
  });
});

describe('late results of aborted requests', () => {
  it('are ignored whatever order they arrive in', async () => {
    const h = createHarness();
    const tokens: Array<string | null> = [];
    h.engine.token$.subscribe((token) => tokens.push(token));
    const aborted: RefreshCall[] = [];
    for (const sid of ['s1', 's2']) {
      h.signIn({ sid });
      await vi.advanceTimersByTimeAsync(45_000);
      aborted.push(h.lastCall());
      h.engine.signOut(); // aborts the refresh in flight
    }
    h.signIn({ sid: 's3' });
    await vi.advanceTimersByTimeAsync(45_000);
    const current = h.lastCall();
    expect(aborted.every((call) => call.ctx.signal.aborted)).toBe(true);

    const lateSecond = aborted[1]!.respond({ sid: 's2' });
    const fresh = current.respond({ sid: 's3' });
    const lateFirst = aborted[0]!.respond({ sid: 's1' });
    await flush();
    expect(h.peekToken()).toBe(fresh.accessToken);
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'fresh', sessionKey: 's3' });
    expect(tokens).not.toContain(lateFirst.accessToken);
    expect(tokens).not.toContain(lateSecond.accessToken);
  });
});

describe('rotation by the server', () => {
  it('adopts a refresh result of another session key as the new session', async () => {
    const h = createHarness();
    h.signIn({ sid: 's1' });
    const seen = watch(h);
    await vi.advanceTimersByTimeAsync(45_000);
    const { accessToken } = h.lastCall().respond({ sid: 's2' });
    await flush();
    expect(h.engine.getSnapshot().sessionKey).toBe('s2');
    expect(seen.sessions.map((s) => s?.sessionKey)).toEqual(['s1', 's2']);
    expect(await h.getToken()).toBe(accessToken);
  });

  it('passes the current session and the latest refresh token to refresh', async () => {
    const h = createHarness();
    h.signIn({ sid: 's1', refreshToken: 'rt-1' });
    await vi.advanceTimersByTimeAsync(45_000);
    expect(h.lastCall().ctx).toMatchObject({ refreshToken: 'rt-1', session: { sessionKey: 's1', userId: 'user-1' } });
    expect(h.lastCall().ctx.session?.startedAt).toBe(T0);
    h.lastCall().respond({ sid: 's1', refreshToken: 'rt-2' });
    await vi.advanceTimersByTimeAsync(45_000);
    expect(h.calls).toHaveLength(2);
    expect(h.lastCall().ctx.refreshToken).toBe('rt-2');
    // A response without a refresh token keeps the last one.
    h.lastCall().respond({ sid: 's1' });
    await vi.advanceTimersByTimeAsync(45_000);
    expect(h.lastCall().ctx.refreshToken).toBe('rt-2');
  });
});
