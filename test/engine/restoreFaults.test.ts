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

    // The read, the sign-in's and the refresh's writes, the removal.
    expect(app.errors).toHaveLength(4);
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
});
