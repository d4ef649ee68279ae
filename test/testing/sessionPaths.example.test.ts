import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { NetworkError, createSessionEngine, type SessionEngine } from 'sessionchart';
import { T0, checkInvariants, createMemoryStorage, createTokenServer } from 'sessionchart/testing';

beforeEach(() => {
  // Before any engine starts: its timers and Date.now are then the test's to move.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  vi.setSystemTime(T0);
});
afterEach(() => vi.useRealTimers());

/** Your app calling `getToken()` once a second for `seconds`: what each call got, and when. */
async function callEverySecond(engine: SessionEngine, seconds: number) {
  const calls: Array<{ at: number; outcome: unknown }> = [];
  for (let second = 0; second < seconds; second += 1) {
    calls.push({ at: Date.now(), outcome: await engine.getToken().catch((error: unknown) => error) });
    await vi.advanceTimersByTimeAsync(1_000);
  }
  return calls;
}

it('keeps one session through a sign-in, an outage longer than a token life, a rotation and a reload', async () => {
  const server = createTokenServer({ lifeSeconds: 60 });
  const storage = createMemoryStorage(); // as localStorage: it outlives the engine
  // Your app's options here; the defaults refresh 15 s before expiry and serve nothing within 5 s of it.
  const options = { refresh: server.refresh, storage };
  const engine = createSessionEngine(options);
  const checker = checkInvariants(engine, server);

  // Sign-in: the token it brings is served as it is.
  const signedIn = server.signIn();
  engine.signIn(signedIn);
  const sessionKey = engine.getSnapshot().sessionKey;
  expect(await engine.getToken()).toBe(signedIn.accessToken);

  // Ten minutes of calls: one background refresh per token life (every 45 s), none on a call.
  const steady = await callEverySecond(engine, 600);
  expect(steady.every(({ outcome }) => typeof outcome === 'string')).toBe(true);
  expect(server.counters.requests).toBe(13);

  // The server goes down for three minutes, longer than a token life.
  server.fault = { kind: 'down' };
  const held = engine.peekToken();
  const heldUntil = engine.getSnapshot().expiresAt! - 5_000;
  for (const { at, outcome } of await callEverySecond(engine, 180)) {
    if (at < heldUntil) {
      expect(outcome).toBe(held); // the token held, while it is good
    } else {
      expect(outcome).toBeInstanceOf(NetworkError); // then at once: never an expired token, never a sign-out
      expect(outcome).toMatchObject({ code: 'network' });
    }
  }
  expect(engine.getSnapshot()).toMatchObject({ status: 'offline', sessionKey });
  // Retries keep to the backoff (1 s doubling to 30 s, jittered), whatever the callers do.
  expect(server.counters.faults).toBeLessThan(16);

  // The server is back: the next retry (within 30 s) brings a token of the same session.
  server.fault = null;
  await vi.advanceTimersByTimeAsync(30_000);
  const afterOutage = await engine.getToken();
  expect(server.issued(afterOutage!)?.sessionKey).toBe(sessionKey);

  // A rotation (a password change elsewhere): the server moves the session to a new key, the app tells the engine.
  const rotatedKey = server.rotateSession(sessionKey!);
  engine.rotate();
  expect(engine.peekToken()).toBeNull(); // the old session's token is never served again
  const rotated = await engine.getToken();
  expect(server.issued(rotated!)?.sessionKey).toBe(rotatedKey);
  expect(engine.getSnapshot().sessionKey).toBe(rotatedKey);

  // A reload: a new engine on the same storage serves the stored token, with no request.
  engine.stop();
  const requestsBeforeReload = server.counters.requests;
  const reloaded = createSessionEngine(options);
  checker.watch(reloaded, 'reloaded');
  expect(await reloaded.ready()).toMatchObject({ status: 'fresh', sessionKey: rotatedKey });
  expect(await reloaded.getToken()).toBe(rotated);
  expect(server.counters.requests).toBe(requestsBeforeReload);

  // Throughout: nothing expired or of an ended session served, one request at a time, no refresh token replayed,
  // no sign-out or change of session without a cause, no caller kept waiting.
  expect(checker.violations).toEqual([]);
  reloaded.stop();
  checker.stop();
});
