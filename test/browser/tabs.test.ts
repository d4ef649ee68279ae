/**
 * Tabs of one origin share one session, in Debian's Chromium: four pages of one context on a paused fake
 * clock, each with its own engine on the channel 'test', against a rotating, reuse-detecting token server.
 * Every served token is judged by the server at the server's time (its clock runs 45 s ahead of the tabs').
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { until, useWorlds, type World } from './fixtures/browser.js';
import type { Reading } from './fixtures/page.js';

/** A token announcement as tabs send it on the channel (see src/tabs/messages.ts). */
interface Announcement {
  token: { accessToken: string; issuedAt: number; expiresAt: number };
  session: { sessionKey: string; startedAt: number };
}

const LIFE_S = 60;
const SKEW_MS = 45_000;
/** Default threshold 15 s below a 60 s life: one refresh every 45 s is an amplification of 1.00. */
const REFRESH_PERIOD_MS = 45_000;

const openWorld = useWorlds();
let world: World;

async function signedInWorld(tabs = 4): Promise<{ sessionKey: string; first: Reading[] }> {
  world = await openWorld({ tabs, lifeSeconds: LIFE_S, serverSkewMs: SKEW_MS });
  await world.call(world.tabs[0]!, 'signIn');
  const first = await untilAll(world.tabs, (r) => r.status === 'fresh');
  return { sessionKey: first[0]!.sessionKey!, first };
}

const read = (page: Page) => world.read(page);
/** Half the tabs peek first, half ask first: neither call may be the one that hands out the expired token. */
const firstReadAfterWake = (page: Page, i: number) => world.read(page, i % 2 === 0 ? 'peekFirst' : 'getFirst');

/** Reads every tab until each passes `check` and all hold the same token. */
const untilAll = (pages: Page[], check: (reading: Reading) => boolean) =>
  until(pages, read, (readings) => readings.every(check) && readings.every((r) => r.peek === readings[0]!.peek));

/** Whatever a tab served (peeked or got) the server accepts at its own time of the reading. */
function expectServedValid(readings: Reading[]): void {
  for (const reading of readings) {
    expect(reading.now).toBe(world.now());
    const served = [reading.peek, 'token' in reading.got ? reading.got.token : null].filter((t) => t !== null);
    for (const token of served) expect(world.server.verify(token, reading.now + SKEW_MS)).toMatchObject({ ok: true });
  }
}

async function signOutsSeen(pages: Page[]): Promise<number> {
  const counts = await Promise.all(pages.map((page) => world.call(page, 'signOutsSeen')));
  return counts.reduce((a, b) => a + b, 0);
}

describe('tabs of one origin in Chromium', () => {
  it('keep one refresh per token life across four tabs for 30 lives, every token valid at every check', async () => {
    await signedInWorld();
    const step = 5_000;
    for (let elapsed = 0; elapsed < 30 * REFRESH_PERIOD_MS; elapsed += step) {
      await world.advance(step);
      const readings = await untilAll(world.tabs, (r) => r.status === 'fresh' && r.peek !== null);
      expectServedValid(readings);
      for (const reading of readings) expect(reading.got).toEqual({ token: reading.peek });
    }
    expect(world.server.counters.requests).toBeGreaterThanOrEqual(30);
    expect(world.server.counters.requests).toBeLessThanOrEqual(33);
    expect(world.server.counters.replays).toBe(0);
    expect(world.server.counters.refused).toBe(0);
    expect(await signOutsSeen(world.tabs)).toBe(0);
  }, 120_000);

  it('ride out an outage longer than a token life: no sign-out, no expired token, fresh one round trip after', async () => {
    await signedInWorld();
    await world.context.setOffline(true);
    await untilAll(world.tabs, (r) => r.status === 'offline');
    for (let elapsed = 0; elapsed < 90_000; elapsed += 10_000) {
      await world.advance(10_000);
      const readings = await Promise.all(world.tabs.map(read));
      expectServedValid(readings);
      for (const reading of readings) {
        // A read with no valid token starts an attempt (which fails at once): the tab may still be in it.
        expect(['offline', 'refreshing']).toContain(reading.status);
        // While the held token is valid it is served; after that a caller is told the network is down.
        expect(reading.got).toEqual(reading.peek === null ? { error: 'network' } : { token: reading.peek });
      }
    }
    const expired = await Promise.all(world.tabs.map(read));
    expect(expired.map((r) => r.peek)).toEqual([null, null, null, null]);
    expect(world.server.counters.requests).toBe(0);

    const wentOnlineAt = world.now();
    await world.context.setOffline(false);
    const back = await untilAll(world.tabs, (r) => r.status === 'fresh' && r.peek !== null);
    expectServedValid(back);
    expect(world.now()).toBe(wentOnlineAt);
    expect(world.server.counters.requests).toBe(1);
    expect(world.server.counters.refused).toBe(0);
    expect(await signOutsSeen(world.tabs)).toBe(0);
  });

  it('never return the expired token on the first read after an hour of sleep', async () => {
    const { first } = await signedInWorld();
    await world.sleep(3_600_000);
    const wake = await Promise.all(world.tabs.map(firstReadAfterWake));
    expectServedValid(wake);
    for (const reading of wake) {
      expect(reading.peek).not.toBe(first[0]!.peek);
      expect('token' in reading.got && reading.got.token).toBeTruthy();
      if (reading.status === 'fresh') expect(reading.peek).not.toBeNull();
    }
    await untilAll(world.tabs, (r) => r.status === 'fresh');
    expect(world.server.counters.requests).toBe(1);
  });

  it('judge by the clock when it jumps before any timer has run, with one request per wake for all tabs', async () => {
    await signedInWorld();
    // Each jump is read first by one tab alone: nothing else (no timer, no other tab) has moved a machine.
    await world.jumpClock(3_600_000);
    const asked = await world.read(world.tabs[1]!, 'getFirst');
    expectServedValid([asked]);
    expect('token' in asked.got && asked.got.token).toBeTruthy();
    await untilAll(world.tabs, (r) => r.status === 'fresh');

    await world.jumpClock(3_600_000);
    const peeked = await world.read(world.tabs[2]!, 'peekFirst');
    expectServedValid([peeked]);
    expect(peeked).toMatchObject({ peek: null, status: expect.not.stringMatching(/^fresh$/) });
    expect('token' in peeked.got && peeked.got.token).toBeTruthy();
    await untilAll(world.tabs, (r) => r.status === 'fresh');
    expect(world.server.counters.requests).toBe(2);
  });

  it('sign every tab out right after a sign-out in one', async () => {
    await signedInWorld();
    const signedOutAt = world.now();
    await world.call(world.tabs[0]!, 'signOut');
    const others = await until(world.tabs.slice(1), read, (readings) =>
      readings.every((r) => r.status === 'signedOut'),
    );
    expect(world.now()).toBe(signedOutAt);
    for (const reading of others) expect(reading).toMatchObject({ peek: null, got: { token: null }, sessionKey: null });

    // Nothing brings the session back: not time, not a tab opened later.
    await world.advance(2 * LIFE_S * 1_000);
    const late = await world.openTab();
    await world.advance(1_000);
    const after = await Promise.all([...world.tabs, late].map(read));
    expect(after.map((r) => r.status)).toEqual(Array(5).fill('signedOut'));
    expect(after.every((r) => r.peek === null)).toBe(true);
    expect(world.server.counters.requests).toBe(0);
  });

  it('complete the refresh in another tab when the tab holding the lock closes mid-request', async () => {
    const { first } = await signedInWorld();
    // Held unprocessed and never released: the request dies with the connection of the tab that sent it.
    const hung = world.server.holdNext();
    await world.advance(REFRESH_PERIOD_MS);
    const holderId = (await hung).client;
    const ids = await Promise.all(world.tabs.map((page) => page.evaluate(() => window.tab.id)));
    const holder = world.tabs[ids.indexOf(holderId)]!;
    const rest = world.tabs.filter((page) => page !== holder);

    // The others wait their turn and keep serving the still valid token meanwhile.
    const waiting = await Promise.all(rest.map(read));
    for (const reading of waiting) expect(reading).toMatchObject({ status: 'refreshing', peek: first[0]!.peek });

    await holder.close();
    const after = await untilAll(rest, (r) => r.status === 'fresh' && r.peek !== first[0]!.peek);
    expectServedValid(after);
    expect(world.server.counters.requests).toBe(2);
    expect(world.server.counters.refused).toBe(0);
  });

  it('give a tab opened late the session of the others without a request', async () => {
    const { sessionKey, first } = await signedInWorld(3);
    await world.advance(20_000);
    const late = await world.openTab();
    const [reading] = await untilAll([late], (r) => r.status === 'fresh');
    expect(reading).toMatchObject({ sessionKey, peek: first[0]!.peek });
    await world.advance(1_000);
    expect(await read(late)).toMatchObject({ status: 'fresh', sessionKey, peek: first[0]!.peek });
    expect(world.server.counters.requests).toBe(0);
  });

  it('rotate every tab with one request when one tab rotates', async () => {
    const { sessionKey } = await signedInWorld();
    await world.advance(10_000);
    const rotatedKey = world.server.rotateSession(sessionKey);
    await world.call(world.tabs[0]!, 'rotate');
    const after = await untilAll(world.tabs, (r) => r.status === 'fresh' && r.sessionKey === rotatedKey);
    expectServedValid(after);
    expect(world.server.verify(after[0]!.peek, world.now() + SKEW_MS)).toMatchObject({ sid: rotatedKey });
    expect(world.server.counters.requests).toBe(1);
    expect(world.server.counters.refused).toBe(0);
  });

  it('ignore malformed and foreign messages, and never let a staler token overwrite a fresher one', async () => {
    const { sessionKey } = await signedInWorld();
    const capture = async () => ((await world.call(world.tabs[1]!, 'post', [], 1)) as Announcement[])[0]!;
    const older = await capture();
    await world.advance(REFRESH_PERIOD_MS);
    const before = await untilAll(world.tabs, (r) => r.status === 'fresh' && r.peek !== older.token.accessToken);
    const current = await capture();
    const now = world.now();
    // Newer than the held token: were these accepted, the tabs would change.
    const newer = { ...current.token, issuedAt: now + 1, expiresAt: current.token.expiresAt + 1_000 };
    const olderForeignSession = { sessionKey: 'sid-foreign', userId: 'mallory', startedAt: current.session.startedAt - 1 };
    const messages = [
      null,
      'hello',
      42,
      { v: 2, kind: 'token', token: newer, session: current.session },
      { v: 1, kind: 'token', token: { ...newer, accessToken: '' }, session: current.session },
      { v: 1, kind: 'token', token: { ...newer, expiresAt: now }, session: current.session },
      { v: 1, kind: 'token', token: { ...newer, refreshToken: 42 }, session: current.session },
      { v: 1, kind: 'token', token: newer, session: { ...current.session, sessionKey: 'sid-foreign' } },
      { v: 1, kind: 'signOut', sessionKey, at: 'now' },
      { v: 1, kind: 'rotate', sessionKey, at: -1 },
      // Well-formed, of another session: late news of a session older than this one.
      { v: 1, kind: 'signOut', sessionKey: 'sid-foreign', at: now },
      { v: 1, kind: 'rotate', sessionKey: 'sid-foreign', at: now },
      { v: 1, kind: 'token', token: { ...newer, sessionKey: 'sid-foreign' }, session: olderForeignSession },
      // Well-formed, of this session, staler than the token held.
      older,
    ];
    await world.call(world.tabs[2]!, 'post', messages, 4);
    expect(await Promise.all(world.tabs.map(read))).toEqual(before);
    expect(world.server.counters.requests).toBe(1);

    // The staler message's refresh token was not adopted either: the next refresh is no replay.
    await world.advance(REFRESH_PERIOD_MS);
    expectServedValid(await untilAll(world.tabs, (r) => r.status === 'fresh' && r.peek !== before[0]!.peek));
    expect(world.server.counters.requests).toBe(2);
    expect(world.server.counters.refused).toBe(0);
  });
});
