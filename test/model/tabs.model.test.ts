import { describe, expect, it, vi } from 'vitest';
import { MAX_TABS, serializeTabs, stepTabs, tabsPaths, initialTabs, type TabsCommand } from '../support/tabsModel.js';
import { TabOrigin, useFakeClock, type Tab } from '../support/tabOrigin.js';

/**
 * Tabs of one origin walked as a model: a shortest command sequence to every abstract state of
 * test/support/tabsModel.ts (K = 2..4 tabs, stores and locks that start failing, sign-in, sign-out, rotation,
 * forced and due refreshes, answers held and released), each replayed on K real engines of one in-memory origin
 * against sessionchart/testing's token server. After every step the invariant checker must have seen nothing (one
 * request in flight per origin, no refresh token sent again once replaced, nothing expired or of an ended session
 * served), and what the model says of the step must be so: a sign-in reaches every open tab, a sign-out too, a
 * tab opened while another holds a servable token takes the session with no request, released answers leave no
 * request in flight. Each path ends by letting held answers through and passing a refresh point, so what every
 * state leads to is replayed too.
 */

const REFRESH_POINT_MS = 45_000;

const describeCommand = ({ type, ...args }: TabsCommand) =>
  Object.keys(args).length ? `${type}(${Object.values(args).join(' ')})` : type;

async function step(world: TabOrigin, command: TabsCommand): Promise<string[]> {
  const tab = 'tab' in command ? world.tabs[command.tab]! : undefined;
  const live = () => world.live();
  const sessionKey = (of: Tab) => of.engine.getSnapshot().sessionKey;
  world.sleep(1);
  switch (command.type) {
    case 'open': {
      const before = world.server.counters.requests;
      const servable = live().find((other) => other.engine.peekToken() !== null);
      const opened = world.open();
      await world.advance(1_000);
      // Judged only while that token stays servable meanwhile (else any tab may renew it).
      if (!servable || servable.engine.peekToken() === null) return [];
      const problems: string[] = [];
      if (sessionKey(opened) !== sessionKey(servable)) problems.push('the opened tab did not take the session');
      if (world.server.counters.requests !== before) problems.push('the opened tab sent a request');
      return problems;
    }
    case 'stop':
      world.stop(tab!);
      return [];
    case 'fail':
      tab!.faults[command.part] = 'reject';
      return [];
    case 'signIn': {
      await world.signIn(tab!);
      await world.advance(1);
      const key = sessionKey(tab!);
      return live().filter((other) => sessionKey(other) !== key).map((other) => `tab ${other.index} did not take the sign-in`);
    }
    case 'signOut':
      await world.signOut(tab!);
      await world.advance(1);
      return live().filter((other) => sessionKey(other) !== null).map((other) => `tab ${other.index} is still signed in`);
    case 'rotate':
      await world.rotate(tab!);
      await world.advance(1);
      return [];
    case 'force':
      void world.getToken(tab!, true);
      await world.advance(1);
      return [];
    case 'due':
      await world.advance(REFRESH_POINT_MS);
      return [];
    case 'hold':
      world.server.holdRequests();
      return [];
    case 'release': {
      world.server.holdRequests(false);
      for (const request of world.server.inFlight()) world.release(request);
      await world.advance(10);
      const left = world.server.inFlight().length;
      return left === 0 ? [] : [`${left} request(s) still in flight once answers were released`];
    }
  }
}

async function replay(commands: TabsCommand[]): Promise<string[]> {
  useFakeClock();
  const world = new TabOrigin();
  try {
    await world.openTabs(initialTabs.tabs.length);
    // Every path ends with what its last state leads to: held answers let through, then a refresh point passed.
    const settled: TabsCommand[] = [...commands, { type: 'release' }, { type: 'due' }, { type: 'release' }];
    for (const [index, command] of settled.entries()) {
      const problems = [...(await step(world, command)), ...world.violations(), ...world.untypedErrors().map(String)];
      const done = settled.slice(0, index + 1).map(describeCommand).join(' > ');
      if (problems.length > 0) return [`after ${done}:`, ...problems];
    }
    return [];
  } finally {
    world.close();
    vi.useRealTimers();
  }
}

describe('tabs of one origin, walked as a model with xstate/graph', () => {
  const paths = tabsPaths();

  it('reach every mix of K = 2..4 tabs, failing parts, session and answers held', () => {
    const states = new Set(paths.map((path) => serializeTabs(path.reduce(stepTabs, initialTabs))));
    const sizes = new Set(paths.map((path) => path.reduce(stepTabs, initialTabs).tabs.length));
    console.log(`tabs model: ${paths.length} paths to ${states.size} states, ${paths.flat().length} steps`);
    expect(states.size).toBe(paths.length);
    expect([...sizes].sort()).toEqual([2, 3, MAX_TABS]);
  });

  it('replays each path on real engines: the invariants and the model hold after every step', { timeout: 300_000 }, async () => {
    const failures: string[][] = [];
    for (const path of paths) {
      const problems = await replay(path);
      if (problems.length > 0) failures.push(problems);
    }
    expect(failures.slice(0, 3)).toEqual([]);
  });
});
