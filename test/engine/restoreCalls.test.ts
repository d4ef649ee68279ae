import { describe, expect, it, vi } from 'vitest';
import { AbortError, AuthError } from '../../src/index.js';
import { T0, flush, rejectionOf, track, useEngineClock } from '../support/engineHarness.js';
import { createMemoryStorage } from '../../src/testing/index.js';
import { createServer, startApp, useRestoreWorld } from './restoreFixtures.js';

useEngineClock();
useRestoreWorld();

/**
 * `restore()` for a session the app holds no token of (an HttpOnly cookie the server reads, or a stored refresh
 * token), `signIn({ refreshToken })`, `ready()`, and what each does after `stop()`.
 */

function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return null;
}

describe('restore() for a cookie session', () => {
  it('sends one restore refresh, with no refresh token, for concurrent calls and resolves each with its token', async () => {
    const server = createServer();
    const app = startApp(server);
    const first = track(app.engine.restore());
    const second = track(app.engine.restore());
    await flush();

    expect(server.calls.map((call) => call.ctx)).toMatchObject([{ reason: 'restore', refreshToken: undefined, session: null }]);
    expect(app.engine.getSnapshot().status).toBe('restoring');
    const { accessToken } = server.calls[0]!.respond({ sid: 's1', refreshToken: false });
    await flush();
    expect([first.value, second.value]).toEqual([accessToken, accessToken]);
    expect(app.engine.getSnapshot()).toMatchObject({ status: 'fresh', sessionKey: 's1' });
    expect(server.calls).toHaveLength(1);
  });

  it('resolves null, signed out with no error kept, when the server has no session', async () => {
    const server = createServer();
    const app = startApp(server);
    const restored = track(app.engine.restore());
    await flush();
    server.calls[0]!.fail(new AuthError('no session cookie'));
    await flush();
    expect(restored).toMatchObject({ settled: true, value: null });
    expect(app.engine.getSnapshot()).toMatchObject({ status: 'signedOut', error: null });
  });

  it('rejects with NetworkError on a network fault and, holding no session, keeps none', async () => {
    const server = createServer();
    const app = startApp(server);
    const restored = rejectionOf(app.engine.restore());
    await flush();
    server.calls[0]!.fail();
    expect((await restored).code).toBe('network');
    expect(app.engine.getSnapshot().status).toBe('signedOut');
    await vi.advanceTimersByTimeAsync(600_000);
    expect(server.calls).toHaveLength(1);
  });

  it('resolves getToken() with no request when a session is already held', async () => {
    const server = createServer();
    const app = startApp(server);
    const set = server.issue();
    app.engine.signIn(set);
    expect(await app.engine.restore()).toBe(set.accessToken);
    expect(server.calls).toHaveLength(0);
  });

  it('called while a storage is still being read, asks the server once the storage turns out empty', async () => {
    const server = createServer();
    const app = startApp(server, { storage: createMemoryStorage() });
    expect(app.engine.getSnapshot().status).toBe('restoring');
    const restored = track(app.engine.restore());
    await flush();
    expect(server.calls.map((call) => call.ctx.reason)).toEqual(['restore']);
    const { accessToken } = server.calls[0]!.respond();
    await flush();
    expect(restored.value).toBe(accessToken);
  });
});

describe('signIn({ refreshToken }) alone', () => {
  it('starts the session with one refresh sent with that refresh token; callers wait for it', async () => {
    const server = createServer();
    const app = startApp(server);
    app.engine.signIn({ refreshToken: 'rt-from-elsewhere' });
    const caller = track(app.getToken());
    await flush();
    expect(server.calls.map((call) => call.ctx)).toMatchObject([{ reason: 'restore', refreshToken: 'rt-from-elsewhere' }]);
    expect(caller.settled).toBe(false);
    const { accessToken } = server.calls[0]!.respond();
    await flush();
    expect(caller.value).toBe(accessToken);
    expect(app.engine.getSnapshot().status).toBe('fresh');
  });

  it('while a refresh is in flight, waits for its answer before sending the new refresh token', async () => {
    const server = createServer();
    const app = startApp(server);
    app.engine.signIn(server.issue());
    vi.setSystemTime(T0 + 70_000);
    void app.getToken();
    await flush();
    expect(server.calls).toHaveLength(1);

    app.engine.signIn({ refreshToken: 'rt-other-account' });
    const caller = track(app.getToken());
    await flush();
    expect(server.calls).toHaveLength(1);
    const stale = server.calls[0]!.respond();
    await flush();
    expect(server.calls.map((call) => call.ctx.refreshToken).at(-1)).toBe('rt-other-account');
    expect(caller.settled).toBe(false);

    const { accessToken } = server.calls[1]!.respond({ sid: 's2' });
    await flush();
    expect(caller.value).toBe(accessToken);
    expect(caller.value).not.toBe(stale.accessToken);
    expect(app.engine.getSnapshot()).toMatchObject({ status: 'fresh', sessionKey: 's2' });
  });
});

describe('after stop()', () => {
  it('ready() rejects with AbortError, and restore() throws it', async () => {
    const app = startApp(createServer());
    app.engine.stop();
    expect((await rejectionOf(app.engine.ready())).code).toBe('aborted');
    const thrown = thrownBy(() => app.engine.restore());
    expect(thrown).toBeInstanceOf(AbortError);
    expect((thrown as AbortError).code).toBe('aborted');
  });

  it('a ready() still waiting on a restore rejects with AbortError when the engine stops, saying so', async () => {
    const server = createServer();
    const app = startApp(server);
    app.engine.signIn({ refreshToken: 'rt-1' });
    const ready = rejectionOf(app.engine.ready());
    await flush();
    app.engine.stop();
    const error = (await ready) as AbortError;
    expect(error.code).toBe('aborted');
    // The message every call after stop() gives, with the wait the stop ended as its cause.
    expect(error.message).toMatch(/^The session engine was stopped/);
    expect(error.cause).toBeInstanceOf(Error);
  });
});
