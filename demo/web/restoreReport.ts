/**
 * What a reload brought back, for the "Reload the page" control: a new engine restores its session from the
 * tabs' IndexedDB store as it starts (or asks the open tabs when nothing was kept). The engine is watched from
 * its first state, so the line can say how: with no request, with one `restore` refresh, or not at all.
 */
import type { SessionEngine } from '../../src/index.js';
import { stateText } from '../../src/viewer/index.js';
import type { Outcome } from './ControlParts.js';
import { refreshesAsked, topState, type MachineSnapshot } from './session.js';

export type RestoreReport = Pick<Outcome, 'text' | 'lasts'>;

/** Whether this page was loaded by a reload (the control's `location.reload()`, or the browser's own). */
export const wasReloaded = (): boolean =>
  performance.getEntriesByType('navigation').some((entry) => (entry as PerformanceNavigationTiming).type === 'reload');

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

function reportOf(visited: ReadonlySet<string>, snapshot: MachineSnapshot): RestoreReport {
  const sid = snapshot.context.session?.sessionKey ?? null;
  const token = snapshot.context.token;
  // Each line is about the session the reload ended with (or its absence): it lasts while that holds.
  const lasts = (next: MachineSnapshot) => (next.context.session?.sessionKey ?? null) === sid;
  const asked = plural(refreshesAsked.get('restore') ?? 0, 'refresh request');
  if (visited.has('restoring.fetching')) {
    if (sid === null) return { text: `the session kept from before was refused by the token server (${asked}, reason "restore"): signed out, the store cleared`, lasts };
    if (topState(snapshot) === 'offline') return { text: `session ${sid} was kept with an expired token; ${asked} (reason "restore") failed: kept, retrying`, lasts };
    return { text: `session ${sid} was kept, its access token expired: ${asked} (reason "restore") renewed it`, lasts };
  }
  if (sid === null) return { text: 'nothing was kept (signed out, or never signed in) and no open tab had a session: signed out, no request', lasts };
  const life = token === null ? 'no token held' : `token expires in ${Math.max(0, Math.round((token.expiresAt - Date.now()) / 1000))} s`;
  const from = visited.has('restoring.askingTabs') ? 'from another open tab (nothing was kept in the store)' : "from the tabs' store (IndexedDB)";
  return { text: `session ${sid} came back ${from} with no request: ${life}`, lasts };
}

/** Watches the engine until it knows its session. Called as the engine is made, before its store is read. */
export function watchRestore(engine: SessionEngine): Promise<RestoreReport> {
  const visited = new Set<string>();
  const visit = (snapshot: MachineSnapshot) => visited.add(stateText(snapshot.value));
  visit(engine.actor.getSnapshot());
  const subscription = engine.actor.subscribe(visit);
  return engine.ready().then(
    () => reportOf(visited, engine.actor.getSnapshot()),
    (error: unknown) => ({ text: `the engine stopped before it knew (${String(error)})`, lasts: () => true }),
  ).finally(() => subscription.unsubscribe());
}
