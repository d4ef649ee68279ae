import { describe, expect, it, vi } from 'vitest';
import { AuthError, type TokenStorage } from '../../src/index.js';
import { T0, flush, track, useEngineClock } from '../support/engineHarness.js';
import { createMemoryStorage } from '../../src/testing/index.js';
import { STORAGE_KEY, createServer, kept, startApp, useRestoreWorld } from './restoreFixtures.js';

useEngineClock();
useRestoreWorld();

/**
 * What the engine writes to `storage`, and when: every new token before anyone is handed it (a refresh token
 * the server rotated is never lost to a reload), nothing once the session has ended.
 */

/** An async storage whose writes land only when the test lets them. */
function heldStorage() {
  const items = new Map<string, string>();
  const log: string[] = [];
  const writes: Array<() => void> = [];
  const storage: TokenStorage = {
    getItem: async (key) => items.get(key) ?? null,
    setItem(key, value) {
      log.push('setItem');
      return new Promise<void>((resolve) => writes.push(() => (items.set(key, value), resolve())));
    },
    removeItem: async (key) => void items.delete(key),
  };
  /** Lets the oldest held write land. */
  const land = async () => {
    writes.shift()!();
    await flush();
  };
  return { storage, items, log, writes, land };
}

/** An app on a storage in memory, past its start-up restore (nothing stored: signed out). */
/** An app on a storage whose writes land when the test says (`held.land()`), past its start-up restore. */
async function appOnHeldStorage() {
  const server = createServer();
  const held = heldStorage();
  const app = startApp(server, { storage: held.storage });
  await app.engine.ready();
  return { server, held, app };
}

async function appOnMemoryStorage() {
  const server = createServer();
  const storage = createMemoryStorage();
  const app = startApp(server, { storage });
  await app.engine.ready();
  return { server, storage, app };
}

describe('writes to storage', () => {
  it('keeps every new token with its refresh token, and removes the session on sign-out', async () => {
    const { server, storage, app } = await appOnMemoryStorage();
    const set = server.issue();
    app.engine.signIn(set);
    expect(kept(storage)).toMatchObject({ token: { accessToken: set.accessToken }, refreshToken: set.refreshToken });

    await vi.advanceTimersByTimeAsync(45_000);
    const renewed = server.calls[0]!.respond();
    await flush();
    expect(kept(storage)).toMatchObject({ token: { accessToken: renewed.accessToken }, refreshToken: renewed.refreshToken });

    app.engine.signOut();
    await flush();
    expect(storage.items.has(STORAGE_KEY)).toBe(false);
    expect(storage.calls.filter((call) => call.startsWith('setItem'))).toHaveLength(2);
  });

  it('keeps the refresh token of a malformed answer, with the token still held: a reload sends that one, not the spent one', async () => {
    const { server, storage, app } = await appOnMemoryStorage();
    const set = server.issue();
    app.engine.signIn(set);
    await vi.advanceTimersByTimeAsync(45_000);
    server.calls[0]!.resolve({ accessToken: 'not a token', refreshToken: 'rt-from-a-malformed-answer' });
    await flush();
    expect(kept(storage)).toMatchObject({ token: { accessToken: set.accessToken }, refreshToken: 'rt-from-a-malformed-answer' });
  });

  it('writes nothing for a network fault that brought no refresh token: the kept session is still the one to reload', async () => {
    const { server, storage, app } = await appOnMemoryStorage();
    app.engine.signIn(server.issue());
    await vi.advanceTimersByTimeAsync(45_000);
    server.calls[0]!.fail();
    await flush();
    expect(app.engine.getSnapshot().error?.code).toBe('network');
    expect(storage.calls.filter((call) => call.startsWith('setItem'))).toHaveLength(1);
  });

  it('writes nothing when a restore() holding no session meets a network fault', async () => {
    const { server, storage, app } = await appOnMemoryStorage();
    app.engine.restore().catch(() => {});
    await flush();
    server.calls[0]!.fail();
    await flush();
    expect(storage.calls.filter((call) => call.startsWith('setItem'))).toEqual([]);
  });

  it('removes the session when a refresh is refused', async () => {
    const { server, storage, app } = await appOnMemoryStorage();
    app.engine.signIn(server.issue());
    await vi.advanceTimersByTimeAsync(45_000);
    server.calls[0]!.fail(new AuthError('invalid_grant'));
    await flush();
    expect(app.engine.getSnapshot().status).toBe('signedOut');
    expect(storage.items.has(STORAGE_KEY)).toBe(false);
  });

  it("calls setItem for a sign-in before signIn returns", async () => {
    const { server, held, app } = await appOnHeldStorage();
    app.engine.signIn(server.issue());
    expect(held.log).toEqual(['setItem']);
  });

  it('calls setItem for a later sign-in before signIn returns too, once the earlier write has landed', async () => {
    const { server, held, app } = await appOnHeldStorage();
    app.engine.signIn(server.issue());
    await held.land();
    app.engine.signIn(server.issue({ sid: 's2', sub: 'user-2' }));
    expect(held.log).toEqual(['setItem', 'setItem']);
  });

  it('removes the session on a sign-out made while writes were still pending only after they landed: nothing is left', async () => {
    const { server, held, app } = await appOnHeldStorage();
    app.engine.signIn(server.issue());
    app.engine.signIn(server.issue({ sid: 's2', sub: 'user-2' }));
    // The first write lands; the second, queued behind it, is under way when the user signs out.
    await held.land();
    expect(held.log).toEqual(['setItem', 'setItem']);
    app.engine.signOut();
    await flush();
    await held.land();
    expect(held.items.has(STORAGE_KEY)).toBe(false);
  });

  it('hands a refresh answer to no one until its write has landed', async () => {
    const { server, held, app } = await appOnHeldStorage();
    app.engine.signIn(server.issue());
    await held.land();

    vi.setSystemTime(T0 + 70_000);
    const caller = track(app.getToken());
    await flush();
    const renewed = server.calls[0]!.respond();
    await flush();
    expect(held.writes).toHaveLength(1);
    expect(caller.settled).toBe(false);
    expect(app.engine.peekToken()).toBeNull();

    await held.land();
    expect(caller.value).toBe(renewed.accessToken);
    expect(JSON.parse(held.items.get(STORAGE_KEY)!)).toMatchObject({ refreshToken: renewed.refreshToken });
  });

  it('keeps a sign-in made while a refresh was in flight, not the answer of the session it replaced', async () => {
    const { server, storage, app } = await appOnMemoryStorage();
    app.engine.signIn(server.issue({ sid: 's1' }));
    await vi.advanceTimersByTimeAsync(45_000);
    const other = server.issue({ sid: 's2', sub: 'user-2' });
    app.engine.signIn(other);
    server.calls[0]!.respond({ sid: 's1' });
    await flush();

    expect(app.engine.getSnapshot().sessionKey).toBe('s2');
    expect(kept(storage)).toMatchObject({ session: { sessionKey: 's2' }, token: { accessToken: other.accessToken } });
  });

  it('never keeps the access token of a session rotated while its refresh was in flight', async () => {
    const { server, storage, app } = await appOnMemoryStorage();
    app.engine.signIn(server.issue());
    await vi.advanceTimersByTimeAsync(45_000);
    app.engine.rotate();
    app.online$.next(false);
    const beforeRotation = server.calls[0]!.respond();
    await flush();

    // The rotation waits for the network: the old session's token must not come back with a reload.
    expect(app.engine.getSnapshot().status).toBe('rotated');
    expect(kept(storage)).toMatchObject({ token: null, refreshToken: beforeRotation.refreshToken });
  });

  it('keeps nothing of the session a refresh token replaced, though its refresh answered after', async () => {
    const { server, storage, app } = await appOnMemoryStorage();
    app.engine.signIn(server.issue({ sid: 's1' }));
    await vi.advanceTimersByTimeAsync(45_000);
    app.engine.signIn({ refreshToken: 'rt-other-account' });
    server.calls[0]!.respond({ sid: 's1' });
    await flush();
    server.calls[1]!.fail();
    await flush();

    // The new account's restore failed: signed out, and a reload must not bring back the replaced account.
    expect(app.engine.getSnapshot().status).toBe('signedOut');
    expect(storage.items.has(STORAGE_KEY)).toBe(false);
  });
});
