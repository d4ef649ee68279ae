/**
 * A failed refresh is shared by the tabs queued on the lock: when the lock holder's attempt fails, the tabs
 * that asked before it fail with it (and wait out its Retry-After) instead of sending one request each.
 */
import { expect, it } from 'vitest';
import type { Fault } from '../../src/testing/index.js';
import { until, useWorlds, type World } from './fixtures/browser.js';

const REFRESH_PERIOD_MS = 45_000;

const openWorld = useWorlds();
let world: World;

it.each<[string, Fault, number | undefined]>([
  ['a 503', { kind: '5xx', status: 503 }, undefined],
  ['a 429 with Retry-After', { kind: '429', retryAfterSeconds: 20 }, 20],
])('four tabs spend one request on %s, then one retry', async (_, fault, retryAfterSeconds) => {
  world = await openWorld({ tabs: 4, lifeSeconds: 60, serverSkewMs: 0 });
  await world.call(world.tabs[0]!, 'signIn');
  await until(world.tabs, world.read, (readings) => readings.every((r) => r.status === 'fresh'));

  world.server.failNext(fault);
  // The failure is held until every tab has asked: the others are queued on the lock behind its holder.
  const answer = world.holdNextAnswer();
  await world.advance(REFRESH_PERIOD_MS);
  await answer.arrived;
  await until(world.tabs, (page) => world.call(page, 'status'), (statuses) => statuses.every((s) => s === 'refreshing'));
  answer.release();
  const failed = await until(world.tabs, world.read, (readings) => readings.every((r) => r.status === 'offline'));
  expect(world.server.counters.requests).toBe(1);
  // The held token is still valid: every tab keeps serving it.
  for (const reading of failed) expect(reading.got).toEqual({ token: reading.peek });

  if (retryAfterSeconds !== undefined) {
    await world.advance(retryAfterSeconds * 1_000 - 1);
    expect(world.server.counters.requests).toBe(1);
  }
  await world.advance(2_000);
  const back = await until(world.tabs, world.read, (readings) =>
    readings.every((r) => r.status === 'fresh' && r.peek === readings[0]!.peek),
  );
  expect(back[0]!.peek).not.toBe(failed[0]!.peek);
  expect(world.server.counters).toMatchObject({ requests: 2, replays: 0, refused: 0 });
});
