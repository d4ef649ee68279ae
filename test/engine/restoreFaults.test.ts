import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SessionError, type TokenStorage } from '../../src/index.js';
import { flush, useEngineClock } from '../support/engineHarness.js';
import { createMemoryStorage } from '../../src/testing/index.js';
import { STORAGE_KEY, createServer, startApp, useRestoreWorld } from './restoreFixtures.js';

useEngineClock();
useRestoreWorld();

/**
 * A storage that cannot be used (blocked, full, a file that cannot be written) never stops the engine: it runs on
 * from memory, each failure goes to `onError` typed, and nothing is left as an unhandled rejection.
 */

const blocked = () => new DOMException('The operation is insecure', 'SecurityError');

const throwingStorage: TokenStorage = {
  getItem: () => {
    throw blocked();
  },
  setItem: () => {
    throw new DOMException('The quota has been exceeded', 'QuotaExceededError');
  },
  removeItem: () => {
    throw blocked();
  },
};

const rejectingStorage: TokenStorage = {
  getItem: () => Promise.reject(blocked()),
  setItem: () => Promise.reject(new Error('EACCES: permission denied')),
  removeItem: () => Promise.reject(blocked()),
};

let unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled = [];
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

describe.each([
  ['throws on every call', throwingStorage],
  ['rejects every call', rejectingStorage],
])('a storage that %s', (_, storage) => {
  it('leaves the engine running from memory: sign-in, refresh and sign-out as without one, each failure to onError', async () => {
    const server = createServer();
    const app = startApp(server, { storage });
    expect(await app.engine.ready()).toMatchObject({ status: 'signedOut' });

    const set = server.issue();
    app.engine.signIn(set);
    expect(await app.getToken()).toBe(set.accessToken);
    await vi.advanceTimersByTimeAsync(45_000);
    const renewed = server.calls[0]!.respond();
    await flush();
    expect(app.engine.getSnapshot().status).toBe('fresh');
    expect(await app.getToken()).toBe(renewed.accessToken);
    app.engine.signOut();
    await flush();
    expect(app.engine.getSnapshot().status).toBe('signedOut');

    // The read, the sign-in's and the refresh's writes, the removal: each report says which it was.
    expect(app.errors.map((error) => (error as Error).message.split(':')[0])).toEqual([
      'The session storage read failed',
      'The session storage write failed',
      'The session storage write failed',
      'The session storage delete failed',
    ]);
    for (const error of app.errors) {
      expect(error).toBeInstanceOf(SessionError);
      expect((error as SessionError).code).toBe('session');
      expect((error as Error).message).not.toContain(set.accessToken);
    }
    expect(unhandled).toEqual([]);
  });
});

describe('what a storage holds', () => {
  it.each([
    ['text that is not JSON', 'not json'],
    ['JSON that is no session', JSON.stringify({ accessToken: 'x', expiresAt: 'tomorrow' })],
  ])('%s is no session: the engine starts signed out with no request', async (_, text) => {
    const server = createServer();
    const app = startApp(server, { storage: createMemoryStorage([[STORAGE_KEY, text]]) });
    expect(await app.engine.ready()).toMatchObject({ status: 'signedOut' });
    expect(server.calls).toHaveLength(0);
  });

  it('a value that is not text (a Buffer, a file read without an encoding) is no session, whatever it holds', async () => {
    const server = createServer();
    const earlier = createMemoryStorage();
    const first = startApp(server, { storage: earlier });
    await first.engine.ready();
    first.engine.signIn(server.issue());
    await flush();
    first.engine.stop();
    const bytes = Buffer.from(earlier.items.get(STORAGE_KEY)!);
    const storage = { ...earlier, getItem: () => bytes } as unknown as TokenStorage;

    const app = startApp(server, { storage });
    expect(await app.engine.ready()).toMatchObject({ status: 'signedOut' });
    expect(app.engine.peekToken()).toBeNull();
  });
});
