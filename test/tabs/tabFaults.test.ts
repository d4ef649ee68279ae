import { beforeEach, describe, expect, it } from 'vitest';
import { SessionError } from '../../src/index.js';
import { TabOrigin, useTabOrigin, type Fault, type Faults, type Tab } from '../support/tabOrigin.js';

/**
 * A tab whose store, lock or channel throws or rejects degrades, never wedges: it keeps serving tokens, every
 * failure reaches its `onError` as a SessionError, and no rejection is left unhandled (vitest fails the run on
 * one). After each test the invariant checker saw no violation: no overlapping requests, no replayed refresh
 * token, nothing served anywhere expired or of an ended session, and the rest of the contract's invariants.
 */

const REFRESH_PERIOD_MS = 45_000;

const origin = useTabOrigin((world) => expect(world.untypedErrors()).toEqual([]));
let world: TabOrigin;
beforeEach(() => (world = origin()));

const FAULTS: Fault[] = ['throw', 'reject'];
const PARTS: Array<keyof Faults> = ['store', 'lock', 'channel'];

/** Each life: time passes to the refresh, and every live tab serves a token, from memory or fetched. */
async function livesServed(lives: number): Promise<void> {
  for (let life = 0; life < lives; life += 1) {
    await world.advance(REFRESH_PERIOD_MS);
    for (const tab of world.live()) expect(typeof (await world.getToken(tab))).toBe('string');
    expect(world.peekAll()).not.toContain(null);
  }
}

const sessionKey = (tab: Tab) => tab.engine.getSnapshot().sessionKey;

/** The failure of `part` reached `onError` as a SessionError naming it, with what the environment threw. */
function expectReported(tab: Tab, part: keyof Faults): void {
  const reported = tab.errors.filter((error) => (error as Error).message.startsWith(`The tabs' ${part} failed`));
  expect(reported.length).toBeGreaterThan(0);
  for (const error of reported) {
    expect(error).toBeInstanceOf(SessionError);
    expect((error as Error).cause).toBeInstanceOf(DOMException);
  }
}

describe.each(PARTS.flatMap((part) => FAULTS.map((fault) => [part, fault] as const)))(
  'a %s that fails (%s) from the start',
  (part, fault) => {
    it('makes a single tab: it hears nothing of the others, signs in and refreshes on its own', async () => {
      const healthy = await world.openTabs(2);
      await world.signIn(healthy[0]!);
      const alone = world.open({ [part]: fault });
      await world.advance(1_000);
      expect(world.status(alone)).toBe('signedOut');
      expectReported(alone, part);

      await world.signIn(alone);
      expect(sessionKey(healthy[1]!)).toBe(sessionKey(healthy[0]!));
      expect(sessionKey(alone)).not.toBe(sessionKey(healthy[0]!));
      const before = world.server.counters.requests;
      await livesServed(5);
      // One request per life for the shared session, one for the single tab's.
      expect(world.server.counters.requests - before).toBe(10);

      // Sign-outs do not cross: it is another session.
      await world.signOut(alone);
      expect(healthy.map((tab) => world.status(tab))).toEqual(['fresh', 'fresh']);
      await world.signIn(alone);
      await world.signOut(healthy[1]!);
      expect([world.status(healthy[0]!), world.status(alone)]).toEqual(['signedOut', 'fresh']);
    });

    it('in every tab makes each a single tab that still works', async () => {
      const tabs = await world.openTabs(3, { [part]: fault });
      for (const tab of tabs) await world.signIn(tab);
      await livesServed(3);
      expect(world.server.counters.requests).toBe(9);
      for (const tab of tabs) expectReported(tab, part);
    });
  },
);

describe.each(FAULTS)('mid-session, a store that fails (%s)', (fault) => {
  /**
   * Three tabs of one session. `broken` refreshes at 40 s, holding the lock with its answer held back, while the
   * others come due at 45 s and queue on the lock behind it; then the answer is let through.
   */
  async function queuedBehindHolder(broken: (tabs: Tab[]) => Tab[]): Promise<Tab[]> {
    const tabs = await world.openTabs(3);
    await world.signIn(tabs[0]!);
    await world.advance(40_000);
    for (const tab of broken(tabs)) tab.faults.store = fault;
    world.server.holdRequests();
    const forced = world.getToken(tabs[2]!, true);
    await world.advance(REFRESH_PERIOD_MS - 40_000 + 1);
    expect(world.server.inFlight()).toHaveLength(1);
    expect(world.live().map((tab) => world.status(tab))).toEqual(['refreshing', 'refreshing', 'refreshing']);
    world.server.holdRequests(false);
    world.release(world.server.inFlight()[0]!);
    await world.advance(1);
    expect(typeof (await forced)).toBe('string');
    return tabs;
  }

  it('in the lock holder: its write fails, the tabs queued behind it take the answer it told them', async () => {
    const tabs = await queuedBehindHolder((all) => [all[2]!]);
    expect(world.server.counters.requests).toBe(1);
    const [token] = world.peekAll();
    expect(world.peekAll()).toEqual([token, token, token]);
    expectReported(tabs[2]!, 'store');
    // Next lives: whoever refreshes sends the newest refresh token.
    await livesServed(3);
    expect(world.server.counters.requests).toBe(4);
  });

  it('in a queued tab: its read fails, it takes what it heard from the holder', async () => {
    const tabs = await queuedBehindHolder((all) => [all[0]!]);
    expect(world.server.counters.requests).toBe(1);
    expect(new Set(world.peekAll()).size).toBe(1);
    expectReported(tabs[0]!, 'store');
    await livesServed(3);
    expect(world.server.counters.requests).toBe(4);
  });

  it('in every tab: the tabs still share one session, one request per life', async () => {
    await queuedBehindHolder((all) => all);
    expect(world.server.counters.requests).toBe(1);
    await livesServed(4);
    expect(world.server.counters.requests).toBe(5);
  });

  it('keeps the token in memory: the tab serves it and refreshes on', async () => {
    const tabs = await world.openTabs(1);
    await world.signIn(tabs[0]!);
    const signedIn = world.peekAll()[0];
    tabs[0]!.faults.store = fault;
    expect(await world.getToken(tabs[0]!)).toBe(signedIn);
    await livesServed(3);
    expect(world.server.counters.requests).toBe(3);
    expect(world.status(tabs[0]!)).toBe('fresh');
    expectReported(tabs[0]!, 'store');
  });
});

describe.each(FAULTS)('a store that fails (%s) once the tab has opened', (fault) => {
  it("reports each failure of the session's record to onError by name: its read at the start, a sign-in's write, a sign-out's delete", async () => {
    const tab = world.open();
    // The tab tried the store as it opened, and it worked: it shares the session, and fails from here on.
    tab.faults.store = fault;
    await world.advance(1_000);
    await world.signIn(tab);
    await world.signOut(tab);
    expect(world.status(tab)).toBe('signedOut');
    const ofTheSession = tab.errors.map((error) => (error as Error).message.split(':')[0]).filter((message) => message!.startsWith('The session'));
    expect(ofTheSession).toEqual(['The session store read failed', 'The session store write failed', 'The session store delete failed']);
  });
});

describe.each(FAULTS)('mid-session, a lock that fails (%s)', (fault) => {
  it('sends nothing beside the holder: the tab serves what the holder told it, and never replays', async () => {
    const tabs = await world.openTabs(3);
    await world.signIn(tabs[0]!);
    await world.advance(REFRESH_PERIOD_MS - 1_000);
    tabs[2]!.faults.lock = fault;
    world.server.holdRequests();
    // All three come due: the first holds the lock, the second queues, the third's lock fails.
    await world.advance(1_000);
    expect(world.server.inFlight()).toHaveLength(1);
    world.server.holdRequests(false);
    world.release(world.server.inFlight()[0]!);
    await world.advance(1);
    expect(world.server.counters.requests).toBe(1);
    const [token] = world.peekAll();
    expect(world.peekAll()).toEqual([token, token, token]);
    expectReported(tabs[2]!, 'lock');
    // The others refresh; the tab without a lock lives on their tokens.
    await livesServed(3);
    expect(world.server.counters.requests).toBe(4);
  });
});

describe.each(FAULTS)('mid-session, a channel that fails (%s)', (fault) => {
  it('the tab goes on serving; the others take its tokens from the store', async () => {
    const tabs = await world.openTabs(3);
    await world.signIn(tabs[0]!);
    tabs[0]!.faults.channel = fault;
    // The first tab asks first each life: it holds the lock, its announcements are lost, its writes are not.
    await livesServed(4);
    expect(world.server.counters.requests).toBe(4);
    expectReported(tabs[0]!, 'channel');
  });
});

describe('a store that throws as it is made', () => {
  it('leaves a single tab that rides out a failed refresh like any other', async () => {
    const tab = world.open({}, (page) => ({
      ...page,
      store: () => {
        throw new DOMException('The user denied permission to access the database', 'SecurityError');
      },
    }));
    await world.advance(1_000);
    expectReported(tab, 'store');
    await world.signIn(tab);
    world.server.failNext({ kind: '5xx', status: 503 });
    await world.advance(REFRESH_PERIOD_MS);
    expect(world.status(tab)).toBe('offline');
    expect(typeof (await world.getToken(tab))).toBe('string');
    await world.advance(10_000);
    expect(world.status(tab)).toBe('fresh');
    expect(world.server.counters.requests).toBe(2);
  });
});
