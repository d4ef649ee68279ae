import { describe, expect, it, vi } from 'vitest';
import { InvalidTokenError, type NetworkError, type SessionInfo, type TokenSet } from '../../src/index.js';
import {
  T0,
  callerWaitingOnRefresh,
  createHarness,
  flush,
  rejectionOf,
  useEngineClock,
} from '../support/engineHarness.js';
import { signJwt } from '../../src/testing/index.js';

useEngineClock();

const DAY = 86_400_000;
const nowS = () => Math.floor(Date.now() / 1000);

function thrownBy(action: () => void): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

const malformed: Array<[string, () => unknown]> = [
  ['an empty object', () => ({})],
  ['not an object', () => 'token'],
  ['an empty access token', () => ({ accessToken: '', expiresIn: 60 })],
  ['a JWT-shaped string that does not decode', () => ({ accessToken: 'a.b.c' })],
  ['a JWT without exp and no expiresIn', () => ({ accessToken: signJwt({ sid: 's1', iat: nowS() }) })],
  ['an opaque token without expiry', () => ({ accessToken: 'opaque-without-expiry' })],
  ['a negative expiresIn', () => ({ accessToken: 'opaque', expiresIn: -5 })],
  ['a refresh token that is not a string', () => ({ accessToken: 'opaque', expiresIn: 60, refreshToken: 42 })],
  ['null', () => null],
  ['undefined', () => undefined],
  ['an empty refresh token alone', () => ({ refreshToken: '' })],
];

describe('signIn with a token already expired', () => {
  it.each([
    ['an opaque token whose expiresAt has passed', () => ({ accessToken: 'opaque-old', expiresAt: Date.now() - 1, refreshToken: 'r-old' })],
    ['a JWT without iat whose exp has passed', () => ({ accessToken: signJwt({ sid: 's1', exp: nowS() - 1 }), refreshToken: 'r-old' })],
  ])('takes %s and starts the session with one refresh, never serving it', async (_, make) => {
    const h = createHarness();
    h.engine.signIn(make() as TokenSet);
    expect(h.peekToken()).toBeNull();
    await flush();
    expect(h.calls).toHaveLength(1);
    expect(h.lastCall().ctx).toMatchObject({ reason: 'expired', refreshToken: 'r-old' });
  });
});

describe('signIn with a malformed token', () => {
  it.each(malformed)('throws invalid_token for %s and leaves the state untouched', async (_, make) => {
    const h = createHarness();
    const { accessToken } = h.signIn({ sid: 's1' });
    const sessions: Array<SessionInfo | null> = [];
    h.engine.session$.subscribe((session) => sessions.push(session));
    const before = h.engine.getSnapshot();
    const machineBefore = h.engine.actor.getSnapshot();

    const thrown = thrownBy(() => h.engine.signIn(make() as TokenSet));
    expect(thrown).toBeInstanceOf(InvalidTokenError);
    expect((thrown as InvalidTokenError).code).toBe('invalid_token');
    expect(h.engine.actor.getSnapshot()).toBe(machineBefore);
    expect(h.engine.getSnapshot()).toBe(before);
    expect(h.peekToken()).toBe(accessToken);
    expect(await h.getToken()).toBe(accessToken);
    expect(sessions).toHaveLength(1);
  });

  it('never puts the token in the error message', () => {
    const h = createHarness();
    const secret = signJwt({ sid: 's1', iat: nowS() });
    const thrown = thrownBy(() => h.engine.signIn({ accessToken: secret }));
    expect(thrown).toBeInstanceOf(InvalidTokenError);
    expect(String(thrown)).not.toContain(secret);
  });
});

describe('refresh resolving a malformed token', () => {
  it.each(malformed.slice(0, 5))(
    'keeps the held token, records invalid_token and retries with backoff for %s',
    async (_, make) => {
      const h = createHarness({ retry: { jitter: false } });
      const { accessToken } = h.signIn();
      await vi.advanceTimersByTimeAsync(45_000);
      h.lastCall().resolve(make());
      await flush();

      const snapshot = h.engine.getSnapshot();
      expect(snapshot.error).toBeInstanceOf(InvalidTokenError);
      expect(snapshot.error?.code).toBe('invalid_token');
      expect(snapshot).toMatchObject({ status: 'offline', sessionKey: 's1', expiresAt: T0 + 60_000 });
      expect(h.peekToken()).toBe(accessToken);

      await vi.advanceTimersByTimeAsync(999);
      expect(h.calls).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(h.calls).toHaveLength(2);
      expect(h.lastCall().ctx.reason).toBe('retry');
      h.lastCall().respond();
      await flush();
      expect(h.engine.getSnapshot()).toMatchObject({ status: 'fresh', error: null });
    },
  );

  it('a caller waiting for it is rejected with the same invalid_token the snapshot records, not a session end', async () => {
    const { h, result } = await callerWaitingOnRefresh();
    h.lastCall().resolve({}); // as a refresh that read a snake-case access_token by mistake resolves
    const rejection = await rejectionOf(result);
    expect(rejection).toBeInstanceOf(InvalidTokenError);
    expect(rejection.code).toBe('invalid_token');
    expect(h.engine.getSnapshot().error?.code).toBe(rejection.code);
    expect(h.engine.getSnapshot().sessionKey).toBe('s1');
  });
});

describe('refresh throwing something that is not a SessionError', () => {
  it('is a network fault: the session stays and retries go on', async () => {
    const { h, result } = await callerWaitingOnRefresh({ retry: { jitter: false } });
    h.lastCall().fail(new Error('boom'));
    expect((await rejectionOf(result)).code).toBe('network');
    expect(h.engine.getSnapshot().error?.code).toBe('network');
    expect(h.engine.getSnapshot().status).toBe('offline');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.calls).toHaveLength(2);
  });

  it("a bug in the app's refresh is reported in the NetworkError's own message", async () => {
    const { h, result } = await callerWaitingOnRefresh();
    const bug = new TypeError("Cannot read properties of undefined (reading 'access_token')");
    h.lastCall().fail(bug);
    const rejection = (await rejectionOf(result)) as NetworkError;
    expect(rejection.code).toBe('network');
    expect(rejection.message).toContain(bug.message);
    expect(rejection.cause).toBe(bug);
    expect(h.engine.getSnapshot().error).toBe(rejection);
  });
});

describe('opaque tokens', () => {
  it('work with expiresIn', async () => {
    const h = createHarness();
    const set = h.issueOpaque({ expiresIn: 60 });
    h.engine.signIn(set);
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'fresh', expiresAt: T0 + 60_000 });
    expect(await h.getToken()).toBe(set.accessToken);
    await vi.advanceTimersByTimeAsync(44_999);
    expect(h.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls).toHaveLength(1);
  });

  it('work with expiresAt (local ms)', async () => {
    const h = createHarness();
    const set = h.issueOpaque({ expiresAt: T0 + 120_000 });
    h.engine.signIn(set);
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'fresh', expiresAt: T0 + 120_000 });
    expect(h.peekToken()).toBe(set.accessToken);
    await vi.advanceTimersByTimeAsync(104_999);
    expect(h.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls).toHaveLength(1);
  });

  it('expiresIn wins over a JWT exp', () => {
    const h = createHarness();
    const { accessToken } = h.issue({ lifeSeconds: 60 });
    h.engine.signIn({ accessToken, expiresIn: 30 });
    expect(h.engine.getSnapshot().expiresAt).toBe(T0 + 30_000);
  });

  it('without a session key: each signIn is a new session, refreshes keep its key', async () => {
    const h = createHarness();
    const sessions: Array<SessionInfo | null> = [];
    h.engine.session$.subscribe((session) => sessions.push(session));
    h.engine.signIn(h.issueOpaque({ expiresIn: 60 }));
    const first = h.engine.getSnapshot().sessionKey;
    h.engine.signIn(h.issueOpaque({ expiresIn: 60 }));
    const second = h.engine.getSnapshot().sessionKey;
    expect(first).toEqual(expect.any(String));
    expect(second).toEqual(expect.any(String));
    expect(second).not.toBe(first);
    expect(sessions).toHaveLength(3);

    h.reply = (call) => call.resolve(h.issueOpaque({ expiresIn: 60 }));
    await vi.advanceTimersByTimeAsync(10 * 45_000);
    expect(h.calls).toHaveLength(10);
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'fresh', sessionKey: second });
    expect(sessions).toHaveLength(3);
  });
});

describe('long-lived tokens', () => {
  it('a 60-day token does not make the refresh timer fire at once (2^31-1 ms clamp)', async () => {
    const h = createHarness();
    h.signIn({ lifeSeconds: 60 * 86_400 });
    await vi.advanceTimersByTimeAsync(DAY);
    expect(h.calls).toHaveLength(0);
    expect(h.engine.getSnapshot().status).toBe('fresh');

    await vi.advanceTimersByTimeAsync(59 * DAY - 15_001);
    expect(h.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls).toHaveLength(1);
  });
});
