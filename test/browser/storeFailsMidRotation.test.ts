/**
 * IndexedDB that starts failing in one tab mid-session, in Chromium: that tab's refresh is answered while a
 * rotation is under way, so it hands off only the new refresh token, and its write fails. The other tab must send
 * that refresh token in the rotation's fetch, never the one it replaced: it learns it from the BroadcastChannel
 * (`tab.refreshToken`), since the store still holds the old one. The server revokes a session on a replay.
 */
import { expect, it } from 'vitest';
import { until, useWorlds } from './fixtures/browser.js';

/** Writes fail once the page sets `__failWrites` (a full disk, a quota, storage cleared under the page). */
const FAILING_WRITES = `
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (...args) {
    if (globalThis.__failWrites) throw new DOMException('The quota has been exceeded', 'QuotaExceededError');
    return put.apply(this, args);
  };
`;

const openWorld = useWorlds();

it("a holder whose writes fail, answered during a rotation: the next lock holder sends the refresh token it was told", async () => {
  const world = await openWorld({ tabs: 2, lifeSeconds: 60, serverSkewMs: 0, initScript: FAILING_WRITES });
  const holder = world.tabs[0]!;
  await world.call(holder, 'signIn');
  const [signedIn] = await until(world.tabs, world.read, (readings) => readings.every((r) => r.status === 'fresh'));
  await world.advance(10_000);

  await holder.evaluate(() => ((globalThis as { __failWrites?: boolean }).__failWrites = true));
  const answer = world.holdNextAnswer();
  const forced = world.call(holder, 'getToken', { forceRefresh: true });
  await answer.arrived;
  const rotatedKey = world.server.rotateSession(signedIn!.sessionKey!);
  await world.call(holder, 'rotate');
  await until(world.tabs, (page) => world.call(page, 'status'), (statuses) => statuses.every((s) => s === 'rotated'));
  answer.release();
  await forced;

  const after = await until(world.tabs, world.read, (readings) => readings.every((r) => r.status === 'fresh' || r.status === 'signedOut'));
  expect(world.server.counters).toMatchObject({ replays: 0, refused: 0 });
  expect(after.map((r) => [r.status, r.sessionKey])).toEqual([
    ['fresh', rotatedKey],
    ['fresh', rotatedKey],
  ]);
  expect(world.pageErrors).toEqual([]);
});
