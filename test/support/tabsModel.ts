import { fromTransition } from 'xstate';
import { getShortestPaths } from 'xstate/graph';

/**
 * An abstract model of K = 2..4 tabs of one origin, for path generation with `xstate/graph`: which tabs are open,
 * which have a store or a lock that fails since mid-session, whether the origin has a session (and how many
 * rotations it went through), whether the server holds its answers and what the tabs then wait for. Tabs that
 * differ only by their index are one state (the state is a multiset), so a shortest path reaches each mix once.
 */

export const MAX_TABS = 4;
export type TabPart = 'store' | 'lock';
/** `late`: opened while the origin had a session (it must take it from the others). */
type TabKind = 'whole' | 'late' | TabPart | 'stopped';

export type TabsCommand =
  | { type: 'open' }
  | { type: 'stop'; tab: number }
  | { type: 'signIn'; tab: number }
  | { type: 'signOut'; tab: number }
  | { type: 'rotate'; tab: number }
  | { type: 'force'; tab: number }
  | { type: 'fail'; tab: number; part: TabPart }
  /** Time passes to the refresh point of a token (45 s of its 60). */
  | { type: 'due' }
  /** The server holds requests from here on (they are in flight until `release`). */
  | { type: 'hold' }
  | { type: 'release' };

export interface TabsModel {
  readonly tabs: readonly TabKind[];
  /** Rotations since the sign-in (at most 2 are told apart); none yet, or `ended` by a sign-out. */
  readonly session: 0 | 1 | 2 | null | 'ended';
  readonly held: boolean;
  /** While answers are held: what the tabs wait for (`both`: a refresh sent before a rotation, and the rotation). */
  readonly out: 'nothing' | 'refresh' | 'rotation' | 'both';
}

export const initialTabs: TabsModel = { tabs: ['whole', 'whole'], session: null, held: false, out: 'nothing' };

const live = (model: TabsModel) => model.tabs.flatMap((kind, tab) => (kind === 'stopped' ? [] : [tab]));

export function tabsCommands(model: TabsModel): TabsCommand[] {
  const commands: TabsCommand[] = [{ type: 'due' }, model.held ? { type: 'release' } : { type: 'hold' }];
  if (model.tabs.length < MAX_TABS) commands.push({ type: 'open' });
  const open = live(model);
  for (const tab of open) {
    commands.push({ type: 'signIn', tab }, { type: 'signOut', tab }, { type: 'rotate', tab }, { type: 'force', tab });
    if (open.length > 1) commands.push({ type: 'stop', tab });
    // One fault a tab: a store or a lock that starts failing (the tab keeps its channel).
    if (model.tabs[tab] === 'whole' || model.tabs[tab] === 'late') commands.push({ type: 'fail', tab, part: 'store' }, { type: 'fail', tab, part: 'lock' });
  }
  return commands;
}

export function stepTabs(model: TabsModel, command: TabsCommand): TabsModel {
  const tabs = [...model.tabs];
  switch (command.type) {
    case 'open':
      return { ...model, tabs: [...tabs, typeof model.session === 'number' ? 'late' : 'whole'] };
    case 'stop':
      tabs[command.tab] = 'stopped';
      return { ...model, tabs };
    case 'fail':
      tabs[command.tab] = command.part;
      return { ...model, tabs };
    case 'signIn':
      return { ...model, session: 0, out: 'nothing' };
    case 'signOut':
      return typeof model.session === 'number' ? { ...model, session: 'ended', out: 'nothing' } : model;
    case 'rotate':
      if (typeof model.session !== 'number') return model;
      return {
        ...model,
        session: Math.min(model.session + 1, 2) as 1 | 2,
        out: !model.held ? 'nothing' : model.out === 'refresh' || model.out === 'both' ? 'both' : 'rotation',
      };
    case 'force':
    case 'due':
      return model.held && typeof model.session === 'number' && model.out === 'nothing' ? { ...model, out: 'refresh' } : model;
    case 'hold':
      return { ...model, held: true };
    case 'release':
      return { ...model, held: false, out: 'nothing' };
  }
}

/** Tabs as a sorted multiset: which tab is which does not matter to the model. */
export const serializeTabs = (model: TabsModel) => JSON.stringify({ ...model, tabs: [...model.tabs].sort() });

/** One shortest command sequence to every abstract state of the model. */
export function tabsPaths(): TabsCommand[][] {
  const logic = fromTransition((model: TabsModel, command: TabsCommand) => stepTabs(model, command), initialTabs);
  type Snapshot = { context: TabsModel };
  const options = {
    events: (snapshot: Snapshot) => tabsCommands(snapshot.context),
    serializeState: (snapshot: Snapshot) => serializeTabs(snapshot.context),
  };
  return getShortestPaths(logic, options as never).map((path) =>
    path.steps.map((step) => step.event as TabsCommand).filter((event) => (event.type as string) !== 'xstate.init'),
  );
}
