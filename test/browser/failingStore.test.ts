/**
 * IndexedDB that fails in the page before the engine starts (a private mode, blocked storage): every tab keeps to
 * itself, a single tab that signs in on its own and still serves tokens, with one request per tab per token life
 * at most, and nothing left uncaught in any page.
 */
import { expect, it } from 'vitest';
import { until, useWorlds } from './fixtures/browser.js';

const LIFE_S = 60;
const REFRESH_PERIOD_MS = 45_000;
const TABS = 3;
const LIVES = 4;

/** Each open fails a moment later, as a denied or broken database does. */
const FAILING_OPEN = `
  indexedDB.open = function () {
    const request = { result: undefined, error: null, onsuccess: null, onerror: null, onupgradeneeded: null };
    queueMicrotask(() => {
      request.error = new DOMException('The user denied permission to access the database', 'SecurityError');
      if (request.onerror) request.onerror(new Event('error'));
    });
    return request;
  };
`;
/** Each open throws at once, as some private modes did. */
const THROWING_OPEN = `
  indexedDB.open = function () {
    throw new DOMException('The operation is insecure', 'SecurityError');
  };
`;

const openWorld = useWorlds();

it.each([
  ['fails', FAILING_OPEN],
  ['throws', THROWING_OPEN],
])('with an IndexedDB whose open %s, every tab serves its own session', async (_, initScript) => {
  const world = await openWorld({ tabs: TABS, lifeSeconds: LIFE_S, serverSkewMs: 0, initScript });
  await world.advance(1_000);
  // No tab hears of another's sign-in: each is signed out until it signs in itself.
  await world.call(world.tabs[0]!, 'signIn');
  await world.advance(1_000);
  const others = await Promise.all(world.tabs.slice(1).map((page) => world.call(page, 'status')));
  expect(others).toEqual(Array(TABS - 1).fill('signedOut'));
  for (const page of world.tabs.slice(1)) await world.call(page, 'signIn');
  const signedIn = await until(world.tabs, world.read, (readings) => readings.every((r) => r.status === 'fresh'));
  expect(new Set(signedIn.map((r) => r.sessionKey)).size).toBe(TABS);

  for (let life = 1; life <= LIVES; life += 1) {
    await world.advance(REFRESH_PERIOD_MS);
    const readings = await until(world.tabs, world.read, (all) => all.every((r) => r.status === 'fresh' && r.peek !== null));
    for (const reading of readings) {
      expect(reading.got).toEqual({ token: reading.peek });
      expect(world.server.verify(reading.peek, reading.now)).toMatchObject({ ok: true });
    }
    expect(world.server.counters.requests).toBeLessThanOrEqual(TABS * life);
  }
  expect(world.server.counters).toMatchObject({ requests: TABS * LIVES, replays: 0, refused: 0 });
  expect(world.pageErrors).toEqual([]);
});
