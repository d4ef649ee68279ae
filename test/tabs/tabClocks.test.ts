import { beforeEach, describe, expect, it } from 'vitest';
import { TabOrigin, useTabOrigin, type Tab } from '../support/tabOrigin.js';

/**
 * Tabs share the wall clock, not each other's engine clocks: an engine that saw the wall clock set back counts on
 * from where it was, so its times are ahead of the wall clock by the set-back. What tabs tell each other and keep
 * in the store is in wall-clock ms, so a tab opened after the set-back (whose engine clock is the wall clock)
 * reads the same expiry, shares the same failure and takes the same stored token as one opened before.
 */

const SET_BACK_MS = 3_600_000;

const origin = useTabOrigin();
let world: TabOrigin;
beforeEach(() => (world = origin()));

/**
 * Tab `before` opened, then the wall clock set back (it notices), then tab `after` opened; one signs in and the
 * other hears of it. (A session kept in the store across a set-back is the one place a set-back can extend a
 * token: see docs/architecture.md. These tabs hear of it on the channel.)
 */
async function tabsOnTwoClocks(signsIn: 'before' | 'after'): Promise<{ before: Tab; after: Tab }> {
  const [before] = await world.openTabs(1);
  world.setClockBack(SET_BACK_MS);
  expect(before!.engine.peekToken()).toBeNull();
  const [after] = await world.openTabs(1);
  const tabs = { before: before!, after: after! };
  await world.signIn(tabs[signsIn]);
  expect(world.live().map((tab) => world.status(tab))).toEqual(['fresh', 'fresh']);
  return tabs;
}

describe.each<[string, string, 'before' | 'after']>([
  ['the tab that saw the set-back', 'a tab opened after it', 'before'],
  ['a tab opened after the set-back', 'the tab that saw it', 'after'],
])('told by %s, read by %s', (_told, _read, teller) => {
  /** The tab that tells (signs in, holds the lock) and the one that hears (and queues). */
  async function roles(): Promise<{ tells: Tab; hears: Tab }> {
    const tabs = await tabsOnTwoClocks(teller);
    return teller === 'before' ? { tells: tabs.before, hears: tabs.after } : { tells: tabs.after, hears: tabs.before };
  }

  it('a token reads the same in wall-clock time', async () => {
    const { tells, hears } = await roles();
    expect(hears.engine.peekToken()).toBe(tells.engine.peekToken());
    const [told, heard] = [tells.engine.getSnapshot(), hears.engine.getSnapshot()];
    expect(heard).toMatchObject({ expiresAt: told.expiresAt, issuedAt: told.issuedAt, status: 'fresh' });
  });

  /** `tells` refreshes at 40 s with its answer held, `hears` comes due at 45 s and queues behind it. */
  async function queuedBehind(tells: Tab): Promise<void> {
    await world.advance(40_000);
    world.server.holdRequests();
    void world.getToken(tells, true);
    await world.advance(6_000);
    expect(world.server.inFlight()).toHaveLength(1);
    world.server.holdRequests(false);
    world.release(world.server.inFlight()[0]!);
    await world.advance(1);
  }

  it('the token it stored answers the other with no request', async () => {
    const { tells, hears } = await roles();
    await queuedBehind(tells);
    expect(world.server.counters.requests).toBe(1);
    expect(hears.engine.peekToken()).toBe(tells.engine.peekToken());
    expect(hears.engine.getSnapshot().expiresAt).toBe(tells.engine.getSnapshot().expiresAt);
  });

  it("a failure it recorded is shared by the other queued behind it, Retry-After and all", async () => {
    const { tells, hears } = await roles();
    world.server.failNext({ kind: '429', retryAfterSeconds: 20 });
    await queuedBehind(tells);
    expect(world.status(hears)).toBe('offline');
    expect(world.server.counters.requests).toBe(1);
    await world.advance(25_000);
    expect(world.live().map((tab) => world.status(tab))).toEqual(['fresh', 'fresh']);
    expect(world.server.counters.requests).toBe(2);
  });

  it("with its store failing, a rotation's withdrawn answer: the other takes its refresh token, sent next", async () => {
    const { tells, hears } = await roles();
    await world.advance(1_000);
    tells.faults.store = 'reject';
    await world.rotateWhileRefreshOut(tells);
    // The other tab sent the refresh token that answer brought, never the one it replaced (the checker's
    // invariant 7, judged after each test), and both hold the rotation's new session.
    expect(world.live().map((tab) => world.status(tab))).toEqual(['fresh', 'fresh']);
    expect(hears.engine.getSnapshot().sessionKey).toBe(tells.engine.getSnapshot().sessionKey);
  });

  it('its sign-out ends the session in the other, which then takes its new sign-in', async () => {
    const { tells, hears } = await roles();
    await world.advance(1_000);
    await world.signOut(tells);
    expect(world.status(hears)).toBe('signedOut');
    await world.advance(1_000);
    await world.signIn(tells);
    expect(world.status(hears)).toBe('fresh');
    expect(hears.engine.peekToken()).toBe(tells.engine.peekToken());
  });
});
