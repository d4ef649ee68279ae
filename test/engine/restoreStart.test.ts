import { describe, expect, it, vi } from 'vitest';
import { AuthError } from '../../src/index.js';
import { T0, flush, rejectionOf, track, useEngineClock } from '../support/engineHarness.js';
import { createMemoryStorage } from '../../src/testing/index.js';
import { STORAGE_KEY, createServer, kept, startApp, useRestoreWorld } from './restoreFixtures.js';

useEngineClock();
useRestoreWorld();

/**
 * A new engine on the storage an earlier start left (a reload, a reopened app, a restarted process) restores the
 * session before it serves or sends anything: `restoring` until it knows, callers waiting for it.
 */

/** An earlier start of the app signed in at T0 with a 60 s token and was then closed. */
async function signedInEarlier() {
  const server = createServer();
  const storage = createMemoryStorage();
  const earlier = startApp(server, { storage });
  await earlier.engine.ready();
  const set = server.issue();
  earlier.engine.signIn(set);
  await flush();
  earlier.engine.stop();
  return { server, storage, set };
}

describe('a start with a stored session', () => {
  it('serves a stored token that is still valid with no request, and ready() settles fresh', async () => {
    const { server, storage, set } = await signedInEarlier();
    vi.setSystemTime(T0 + 10_000);
    const app = startApp(server, { storage });
    expect(app.engine.getSnapshot().status).toBe('restoring');
    const waiting = track(app.getToken());

    const ready = await app.engine.ready();
    expect(ready).toMatchObject({ status: 'fresh', sessionKey: 's1', expiresAt: T0 + 60_000 });
    await flush();
    expect(waiting.value).toBe(set.accessToken);
    expect(app.engine.peekToken()).toBe(set.accessToken);
    expect(server.calls).toHaveLength(0);
  });

  it('answers restore() called at start with the stored token, with no request', async () => {
    const { server, storage, set } = await signedInEarlier();
    const app = startApp(server, { storage });
    expect(await app.engine.restore()).toBe(set.accessToken);
    expect(server.calls).toHaveLength(0);
  });

  it('renews an expired access token with one restore refresh that concurrent callers share and wait for', async () => {
    const { server, storage, set } = await signedInEarlier();
    vi.setSystemTime(T0 + 120_000);
    const app = startApp(server, { storage });
    const callers = [track(app.getToken()), track(app.getToken()), track(app.getToken())];
    const ready = track(app.engine.ready());
    await flush();

    expect(server.calls).toHaveLength(1);
    expect(server.calls[0]!.ctx).toMatchObject({ reason: 'restore', refreshToken: set.refreshToken });
    expect(app.engine.getSnapshot().status).toBe('restoring');
    expect(app.engine.peekToken()).toBeNull();
    expect([...callers, ready].some((result) => result.settled)).toBe(false);

    const renewed = server.calls[0]!.respond();
    await flush();
    expect(callers.map((caller) => caller.value)).toEqual(Array(3).fill(renewed.accessToken));
    expect(ready.value).toMatchObject({ status: 'fresh', sessionKey: 's1' });
    expect(kept(storage)).toMatchObject({ token: { accessToken: renewed.accessToken }, refreshToken: renewed.refreshToken });
    expect(server.calls).toHaveLength(1);
  });

  it('renews a stored refresh token alone (a rotation the app was closed in) with one restore refresh', async () => {
    const server = createServer();
    const storage = createMemoryStorage();
    const earlier = startApp(server, { storage });
    await earlier.engine.ready();
    const set = server.issue();
    earlier.engine.signIn(set);
    earlier.online$.next(false);
    earlier.engine.rotate();
    await flush();
    earlier.engine.stop();
    expect(kept(storage)).toMatchObject({ token: null, refreshToken: set.refreshToken });

    const app = startApp(server, { storage });
    const caller = track(app.getToken());
    await flush();
    expect(server.calls.map((call) => call.ctx)).toMatchObject([{ reason: 'restore', refreshToken: set.refreshToken }]);
    const renewed = server.calls[0]!.respond({ sid: 's2' });
    await flush();
    expect(caller.value).toBe(renewed.accessToken);
    expect(app.engine.getSnapshot()).toMatchObject({ status: 'fresh', sessionKey: 's2' });
  });

  it('ends signed out with the storage cleared and no error kept when the server refuses the restore', async () => {
    const { server, storage } = await signedInEarlier();
    vi.setSystemTime(T0 + 120_000);
    const app = startApp(server, { storage });
    const caller = track(app.getToken());
    await flush();
    server.calls[0]!.fail(new AuthError('invalid_grant'));
    await flush();

    expect(caller.value).toBeNull();
    expect(await app.engine.ready()).toMatchObject({ status: 'signedOut', sessionKey: null, error: null });
    expect(storage.items.has(STORAGE_KEY)).toBe(false);
    expect(storage.calls.at(-1)).toBe(`removeItem ${STORAGE_KEY}`);
    expect(app.errors).toEqual([]);
  });

  it('starts offline without a sign-out or a request, keeps the session, and renews it when the network is back', async () => {
    const { server, storage, set } = await signedInEarlier();
    vi.setSystemTime(T0 + 120_000);
    const app = startApp(server, { storage, online: false });

    expect(await app.engine.ready()).toMatchObject({ status: 'offline', sessionKey: 's1' });
    expect((await rejectionOf(app.getToken())).code).toBe('network');
    await vi.advanceTimersByTimeAsync(600_000);
    expect(server.calls).toHaveLength(0);
    expect(kept(storage)).toMatchObject({ refreshToken: set.refreshToken });

    app.online$.next(true);
    await flush();
    expect(server.calls.map((call) => call.ctx.refreshToken)).toEqual([set.refreshToken]);
    const renewed = server.calls[0]!.respond();
    await flush();
    expect(await app.getToken()).toBe(renewed.accessToken);
    expect(app.engine.getSnapshot().status).toBe('fresh');
  });

  it('keeps the session through a network fault on the restore refresh and retries it after the backoff', async () => {
    const { server, storage } = await signedInEarlier();
    vi.setSystemTime(T0 + 120_000);
    const app = startApp(server, { storage, retry: { jitter: false } });
    const caller = track(app.getToken());
    await flush();
    server.calls[0]!.fail();
    await flush();

    expect((caller.error as { code?: string }).code).toBe('network');
    expect(app.engine.getSnapshot()).toMatchObject({ status: 'offline', sessionKey: 's1' });
    expect(storage.items.has(STORAGE_KEY)).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(server.calls).toHaveLength(2);
    const renewed = server.calls[1]!.respond();
    await flush();
    expect(await app.getToken()).toBe(renewed.accessToken);
  });

  it('starts signed out at once from an empty storage, with no request', async () => {
    const server = createServer();
    const app = startApp(server, { storage: createMemoryStorage() });
    expect(await app.engine.ready()).toMatchObject({ status: 'signedOut' });
    expect(await app.getToken()).toBeNull();
    expect(server.calls).toHaveLength(0);
  });
});
