/**
 * Every tab hears of a password change from the provider and calls `rotate()`: the rotation already in
 * flight must not be abandoned. The server spends the refresh token when it handles the request; a tab
 * that aborts it loses the new refresh token, and the next rotation attempt replays the spent one, which
 * the server answers by revoking the whole family (every tab signed out).
 */
import { expect, it } from 'vitest';
import { until, useWorlds, type World } from './fixtures/browser.js';

const openWorld = useWorlds();
let world: World;

it('keeps the rotation in flight when a second tab rotates the same session: one request, no replay', async () => {
  world = await openWorld({ tabs: 4, lifeSeconds: 60, serverSkewMs: 0 });
  const [first, second] = world.tabs as [NonNullable<World['tabs'][0]>, NonNullable<World['tabs'][0]>];
  await world.call(first, 'signIn');
  const [signedIn] = await until(world.tabs, world.read, (rs) => rs.every((r) => r.status === 'fresh'));
  await world.advance(10_000);

  const rotatedKey = world.server.rotateSession(signedIn!.sessionKey!);
  const answer = world.holdNextAnswer();
  await world.call(first, 'rotate');
  await answer.arrived;
  await world.advance(100);
  await world.call(second, 'rotate');
  // Every tab has heard of a rotation (or, once a replay revoked the family, of the end of the session).
  const settled = (statuses: string[]) => statuses.every((s) => s === 'rotated' || s === 'signedOut');
  await until(world.tabs, (page) => world.call(page, 'status'), settled);
  answer.release();

  const after = await until(world.tabs, world.read, (rs) => rs.every((r) => r.status === 'fresh' || r.status === 'signedOut'));
  expect(world.server.counters).toMatchObject({ requests: 1, replays: 0, refused: 0 });
  expect(after.map((r) => [r.status, r.sessionKey])).toEqual(Array(4).fill(['fresh', rotatedKey]));
});
