import { beforeEach, describe, expect, it } from 'vitest';
import type { TabEnvironment } from '../../src/tabs/environment.js';
import { TabOrigin, useTabOrigin, type Tab } from '../support/tabOrigin.js';

/**
 * When another tab signed out or rotated travels in wall-clock ms, like its tokens (see tabClocks.test.ts): a tab
 * whose engine clock runs ahead of the wall clock (it saw the clock set back) ends a session as of the moment it
 * ended there, and asks for a rotation's token as of the moment the rotation was asked for, so what happened
 * before it (a late message of an older session, a failure recorded before) is told apart from what came after.
 */

const SET_BACK_MS = 3_600_000;

const origin = useTabOrigin();
let world: TabOrigin;
beforeEach(() => (world = origin()));

/** A tab's messages to the others held back (a channel slow to deliver), then delivered in order. */
function slowChannel() {
  const held: Array<() => void> = [];
  let holding = false;
  const wrap = (tab: TabEnvironment): TabEnvironment => ({
    ...tab,
    open(name, receive) {
      const channel = tab.open(name, receive);
      return {
        post: (message) => void (holding ? held.push(() => channel.post(message)) : channel.post(message)),
        close: () => channel.close(),
      };
    },
  });
  return {
    wrap,
    hold: () => void (holding = true),
    deliver: () => {
      holding = false;
      for (const send of held.splice(0)) send();
    },
  };
}

describe.each<[string, 'before' | 'after']>([
  ['the tab that saw the set-back tells one opened after it', 'before'],
  ['a tab opened after the set-back tells the one that saw it', 'after'],
])('%s', (_roles, teller) => {
  /** Tab `before` opened, the wall clock set back (it notices), tab `after` opened; `tells` signs in. */
  async function roles(): Promise<{ tells: Tab; hears: Tab }> {
    const [before] = await world.openTabs(1);
    world.setClockBack(SET_BACK_MS);
    expect(before!.engine.peekToken()).toBeNull();
    const [after] = await world.openTabs(1);
    const tabs = teller === 'before' ? { tells: before!, hears: after! } : { tells: after!, hears: before! };
    await world.signIn(tabs.tells);
    expect([world.status(tabs.tells), world.status(tabs.hears)]).toEqual(['fresh', 'fresh']);
    return tabs;
  }

  it('a sign-out there is not undone here by a late message of a session started before it', async () => {
    const { tells, hears } = await roles();
    const slow = slowChannel();
    const late = world.open({}, slow.wrap);
    await world.advance(1_000);
    expect(late.engine.peekToken()).toBe(tells.engine.peekToken());
    // A third tab signs in a session of its own; the others hear of it only after the sign-out.
    slow.hold();
    await world.signIn(late);
    await world.advance(1_000);
    await world.signOut(tells);
    expect(world.status(hears)).toBe('signedOut');
    slow.deliver();
    await world.advance(1);
    expect([world.status(tells), world.status(hears)]).toEqual(['signedOut', 'signedOut']);
    expect(hears.engine.peekToken()).toBeNull();
    expect(world.status(late)).toBe('fresh');
  });

  it("a failure recorded before a rotation there is not the rotation's here: the tabs rotate with no error", async () => {
    const { tells, hears } = await roles();
    await world.advance(10_000);
    world.server.failNext({ kind: '5xx', status: 503 });
    await world.getToken(tells, true);
    expect(world.server.counters.requests).toBe(1);
    // `tells` tries again, holding the lock with its answer held back; it rotates meanwhile, `hears` queues.
    world.server.holdRequests();
    void world.getToken(tells, true);
    await world.advance(1_000);
    expect(world.server.inFlight()).toHaveLength(1);
    const errors: unknown[] = [];
    hears.engine.subscribe((snapshot) => void (snapshot.error && errors.push(snapshot.error.code)));
    const rotated = tells.engine.getSnapshot().sessionKey;
    await world.rotate(tells);
    await world.advance(1);
    expect(world.server.inFlight()).toHaveLength(1);
    world.server.holdRequests(false);
    world.release(world.server.inFlight()[0]!);
    await world.advance(10);
    expect(errors).toEqual([]);
    expect([world.status(tells), world.status(hears)]).toEqual(['fresh', 'fresh']);
    expect(hears.engine.getSnapshot().sessionKey).toBe(tells.engine.getSnapshot().sessionKey);
    expect(hears.engine.getSnapshot().sessionKey).not.toBe(rotated);
    expect(world.server.counters.requests).toBe(3);
  });

  it("a rotation's request that fails there is shared by the tab queued behind it: one request for both", async () => {
    const { tells, hears } = await roles();
    await world.advance(10_000);
    world.server.failNext({ kind: '5xx', status: 503 });
    world.server.holdRequests();
    await world.rotate(tells);
    await world.advance(1);
    expect(world.server.inFlight()).toHaveLength(1);
    world.server.holdRequests(false);
    world.release(world.server.inFlight()[0]!);
    await world.advance(1);
    expect(world.server.counters.requests).toBe(1);
    expect(hears.engine.getSnapshot().error?.code).toBe('network');
    expect(hears.engine.peekToken()).toBeNull();
    // The next attempt fetches the new session for both.
    await world.advance(60_000);
    expect([world.status(tells), world.status(hears)]).toEqual(['fresh', 'fresh']);
    expect(hears.engine.peekToken()).toBe(tells.engine.peekToken());
  });
});
