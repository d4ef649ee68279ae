/**
 * A server's Retry-After, across tabs: a tab that wakes up during another tab's Retry-After sends nothing (a
 * wake-up never cuts a wait the server asked for, whatever `retry.callersCutBackoff` says of callers), and the
 * tabs retry once the Retry-After has passed.
 */
import { expect, it } from 'vitest';
import { until, useWorlds, type World } from './fixtures/browser.js';

const REFRESH_PERIOD_MS = 45_000;
const RETRY_AFTER_S = 20;

const openWorld = useWorlds();
let world: World;

it.each([
  ['callers keep to backoffs (the default)', false],
  ['callers cut backoffs short', true],
])('a tab waking during another tab’s Retry-After keeps to it (%s)', async (_, callersCutBackoff) => {
  world = await openWorld({ tabs: 2, lifeSeconds: 60, serverSkewMs: 0, callersCutBackoff });
  await world.call(world.tabs[0]!, 'signIn');
  await until(world.tabs, world.read, (readings) => readings.every((r) => r.status === 'fresh'));

  world.server.failNext({ kind: '429', retryAfterSeconds: RETRY_AFTER_S });
  await world.advance(REFRESH_PERIOD_MS);
  await until(world.tabs, (page) => world.call(page, 'status'), (statuses) => statuses.every((s) => s === 'offline'));
  expect(world.server.counters.requests).toBe(1);

  // Five seconds into the Retry-After, the second tab is focused: a wake-up, with a stale token still served.
  await world.advance(5_000);
  await world.tabs[1]!.evaluate(() => window.dispatchEvent(new Event('focus')));
  await until(world.tabs, (page) => world.call(page, 'status'), (statuses) => statuses.every((s) => s !== 'refreshing'));
  await world.advance(RETRY_AFTER_S * 1_000 - 5_000 - 1);
  expect(world.server.counters.requests).toBe(1);

  await world.advance(2_000);
  await until(world.tabs, world.read, (readings) =>
    readings.every((r) => r.status === 'fresh' && r.peek === readings[0]!.peek),
  );
  // The retry after the wait brought the new token: two requests in all.
  expect(world.server.counters).toMatchObject({ requests: 2, replays: 0, refused: 0 });
});
