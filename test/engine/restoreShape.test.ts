import { describe, expect, it, vi } from 'vitest';
import { T0, flush, useEngineClock } from '../support/engineHarness.js';
import { createMemoryStorage } from '../../src/testing/index.js';
import { createServer, kept, startApp, useRestoreWorld, type StoredJson } from './restoreFixtures.js';

useEngineClock();
useRestoreWorld();

/**
 * The stored JSON holds the session and nothing more (no configuration, no error, no token a rotation dropped),
 * with wall-clock times: another start reads it on its own clock, whatever this engine's clock went through.
 */

const SESSION_KEYS = ['sessionKey', 'startedAt', 'userId'];
const TOKEN_KEYS = ['accessToken', 'expiresAt', 'issuedAt', 'serverOffsetMs', 'sessionKey', 'userId'];

function expectSessionOnly(kept: StoredJson | undefined): void {
  expect(kept).toBeDefined();
  expect(Object.keys(kept!).sort()).toEqual(['refreshToken', 'session', 'token']);
  expect(Object.keys(kept!.session).sort()).toEqual(SESSION_KEYS);
  const { refreshToken, ...token } = kept!.token as StoredJson['token'] & { refreshToken?: string };
  expect(Object.keys(token).sort()).toEqual(TOKEN_KEYS);
  // A refresh token inside the token is the session's own, never an older (spent) one.
  if (refreshToken !== undefined) expect(refreshToken).toBe(kept!.refreshToken);
}

describe('the stored session', () => {
  it('has the shape of a session after a sign-in and after each refresh', async () => {
    const server = createServer();
    const storage = createMemoryStorage();
    const app = startApp(server, { storage });
    await app.engine.ready();
    app.engine.signIn(server.issue());
    expectSessionOnly(kept(storage));

    for (const step of [1, 2]) {
      await vi.advanceTimersByTimeAsync(45_000);
      server.calls.at(-1)!.respond(step === 1 ? {} : { refreshToken: false });
      await flush();
      expectSessionOnly(kept(storage));
    }
    expect(kept(storage)!.token).toMatchObject({ sessionKey: 's1', userId: 'user-1' });
  });

  it('keeps wall-clock times when the engine clock was set back, and a new engine reads them on its own clock', async () => {
    const server = createServer();
    const storage = createMemoryStorage();
    const app = startApp(server, { storage });
    await app.engine.ready();
    app.engine.signIn(server.issue());
    await flush();

    // This device's wall clock is set back 30 s (the server's is not); the engine's clock keeps counting, so a
    // 60 s token signed in now expires at T0 + 30 s by the wall clock.
    vi.setSystemTime(T0 - 30_000);
    app.engine.signIn(server.issue({ skewMs: 30_000 }));
    await flush();
    const { expiresAt } = app.engine.getSnapshot();
    expect(expiresAt).toBe(T0 + 30_000);
    expect(kept(storage)!.token).toMatchObject({ expiresAt: T0 + 30_000, issuedAt: T0 - 30_000 });
    app.engine.stop();

    const reloaded = startApp(server, { storage });
    expect(await reloaded.engine.ready()).toMatchObject({ status: 'fresh', expiresAt: T0 + 30_000 });
    // Served until the leeway before that wall-clock expiry, and not a moment longer.
    await vi.advanceTimersByTimeAsync(54_999);
    expect(reloaded.engine.peekToken()).not.toBeNull();
    vi.setSystemTime(T0 + 25_000);
    expect(reloaded.engine.peekToken()).toBeNull();
    expect(server.calls.every((call) => call.ctx.reason !== 'restore')).toBe(true);
  });
});
