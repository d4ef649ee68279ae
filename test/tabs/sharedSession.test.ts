import { beforeEach, describe, expect, it } from 'vitest';
import type { Fault } from '../../src/testing/index.js';
import { TabOrigin, useTabOrigin, type Tab } from '../support/tabOrigin.js';

/**
 * K engines as K tabs of one in-memory origin, on the fake clock, against a token server that rotates refresh
 * tokens and revokes a session on replay: one session for all, one request per token life, one in flight.
 * After each test the invariant checker saw no violation (no request overlapped another, no refresh token was
 * replayed, nothing served was expired or of an ended session, ...) and nothing reached `onError`.
 */

const LIFE_MS = 60_000;
/** The default 15 s threshold below a 60 s life. */
const REFRESH_PERIOD_MS = 45_000;

const origin = useTabOrigin((world) => expect(world.tabs.flatMap((tab) => tab.errors)).toEqual([]));
let world: TabOrigin;
beforeEach(() => (world = origin()));

const statuses = (tabs: Tab[] = world.live()) => tabs.map((tab) => world.status(tab));
const every = (value: unknown, tabs: Tab[] = world.live()) => tabs.map(() => value);

/** K tabs, one signed in, every one fresh with the same token. */
async function signedIn(count: number): Promise<Tab[]> {
  const tabs = await world.openTabs(count);
  await world.signIn(tabs[0]!);
  expect(statuses()).toEqual(every('fresh'));
  expect(new Set(world.peekAll()).size).toBe(1);
  return tabs;
}

describe.each([2, 3, 4])('%i tabs of one origin', (count) => {
  it('share one session and spend one request per token life, 20 lives long', async () => {
    await signedIn(count);
    for (let life = 1; life <= 20; life += 1) {
      await world.advance(REFRESH_PERIOD_MS);
      expect(world.server.counters.requests).toBe(life);
      expect(statuses()).toEqual(every('fresh'));
      const [first, ...rest] = world.peekAll();
      expect(rest).toEqual(rest.map(() => first));
    }
    expect(world.server.counters.maxInFlight).toBe(1);
  });

  it('keep one request in flight per origin while every tab is due, and share its answer', async () => {
    const tabs = await signedIn(count);
    world.server.holdRequests();
    await world.advance(REFRESH_PERIOD_MS);
    // Every tab asks: callers with a stale token, and forced refreshes that must share the request.
    const answers = tabs.map((tab, i) => world.getToken(tab, i % 2 === 1));
    await world.advance(1);
    expect(world.server.inFlight()).toHaveLength(1);
    expect(statuses()).toEqual(every('refreshing'));
    world.release(world.server.inFlight()[0]!);
    await world.advance(1);
    expect(world.server.counters.requests).toBe(1);
    const served = await Promise.all(answers);
    // The stale callers were served the held token at once; the forced ones the new one, as every tab now holds.
    const newToken = world.peekAll()[0];
    served.forEach((token, i) => (i % 2 === 1 ? expect(token).toBe(newToken) : expect(typeof token).toBe('string')));
    expect(world.peekAll()).toEqual(every(newToken));
  });

  it('sign every tab out with a sign-out in any one, and send nothing after', async () => {
    const tabs = await signedIn(count);
    await world.advance(20_000);
    await world.signOut(tabs[count - 1]!);
    expect(statuses()).toEqual(every('signedOut'));
    expect(world.peekAll()).toEqual(every(null));
    expect(await Promise.all(tabs.map((tab) => world.getToken(tab)))).toEqual(every(null));
    await world.advance(3 * LIFE_MS);
    expect(statuses()).toEqual(every('signedOut'));
    expect(world.server.counters.requests).toBe(0);
  });

  it('give a tab opened late the session of the others with no request', async () => {
    await signedIn(count);
    await world.advance(20_000);
    const held = world.peekAll()[0];
    const late = world.open();
    expect(world.status(late)).toBe('restoring');
    await world.advance(1_000);
    expect(world.status(late)).toBe('fresh');
    expect(await world.getToken(late)).toBe(held);
    expect(world.server.counters.requests).toBe(0);
    // From then on it is one of them: still one request per life.
    await world.advance(REFRESH_PERIOD_MS);
    expect(world.server.counters.requests).toBe(1);
    expect(new Set(world.peekAll()).size).toBe(1);
  });

  it('rotate every tab with one request when one tab rotates', async () => {
    const tabs = await signedIn(count);
    await world.advance(10_000);
    const before = tabs[0]!.engine.getSnapshot().sessionKey;
    await world.rotate(tabs[1]!);
    await world.advance(1);
    expect(statuses()).toEqual(every('fresh'));
    const after = world.peekAll();
    expect(after).toEqual(every(after[0]));
    const rotatedKey = world.sidOf(after[0]!);
    expect(rotatedKey).not.toBe(before);
    expect(world.live().map((tab) => tab.engine.getSnapshot().sessionKey)).toEqual(every(rotatedKey));
    expect(world.server.counters.requests).toBe(1);
  });

  it('rotate while a refresh is out: one fetch, with the refresh token its answer brought, for every tab', async () => {
    const tabs = await signedIn(count);
    world.server.holdRequests();
    await world.advance(REFRESH_PERIOD_MS);
    expect(world.server.inFlight()).toHaveLength(1);
    await world.rotate(tabs[0]!);
    world.server.holdRequests(false);
    world.release(world.server.inFlight()[0]!);
    await world.advance(1);
    expect(statuses()).toEqual(every('fresh'));
    const [token] = world.peekAll();
    expect(world.peekAll()).toEqual(every(token));
    expect(world.live().map((tab) => tab.engine.getSnapshot().sessionKey)).toEqual(every(world.sidOf(token!)));
    // The refresh and one rotation: the queued tabs' refreshes were dropped unsent.
    expect(world.server.counters.requests).toBe(2);
  });

  it.each<[string, Fault]>([
    ['a 503', { kind: '5xx', status: 503 }],
    ['a 429 with Retry-After', { kind: '429', retryAfterSeconds: 20 }],
  ])('spend one request on %s for every tab queued behind it, then one retry', async (_, failure) => {
    const tabs = await signedIn(count);
    world.server.holdRequests();
    world.server.failNext(failure);
    await world.advance(REFRESH_PERIOD_MS);
    expect(world.server.inFlight()).toHaveLength(1);
    world.release(world.server.inFlight()[0]!);
    await world.advance(1);
    expect(statuses()).toEqual(every('offline'));
    expect(world.server.counters.requests).toBe(1);
    // The held token is still valid: every tab serves it.
    const held = world.peekAll()[0];
    expect(await Promise.all(tabs.map((tab) => world.getToken(tab)))).toEqual(every(held));

    world.server.holdRequests(false);
    if (failure.kind === '429') {
      await world.advance(failure.retryAfterSeconds * 1000 - 2);
      expect(world.server.counters.requests).toBe(1);
    }
    await world.advance(10_000);
    expect(statuses()).toEqual(every('fresh'));
    expect(world.server.counters.requests).toBe(2);
    expect(world.peekAll()).not.toContain(held);
  });
});
