/**
 * Follows a running actor through inspection events: the active state nodes, the transitions of its last step
 * that changed anything, and a log of the events it received. A recorder given to the actor's `inspect` option
 * sees it from its first event (so the log tells how it got where it is); the viewer otherwise starts one
 * when it mounts, and sees what happens from then on.
 */
import { useEffect, useMemo, useSyncExternalStore } from 'react';
import type { AnyActorRef, AnyMachineSnapshot, AnyTransitionDefinition, InspectionEvent } from 'xstate';
import { stateKey } from './graph.js';
import { summarizeEvent, type LoggedEvent, type LoggedStep } from './events.js';

export interface LogEntry {
  id: number;
  /** The step, or the latest of the identical steps folded into this entry. */
  step: LoggedStep;
  event: LoggedEvent;
  /** The state value after the event, as dotted paths (`offline.waiting`). */
  state: string;
  /** Consecutive identical steps are folded into one entry. */
  count: number;
}

export interface Activity {
  /** Keys (see graph.ts `stateKey`) of every active state node, the root included. */
  active: ReadonlySet<string>;
  /** `source|eventType|target` of each transition of the last step that took any. */
  lastTransitions: ReadonlySet<string>;
  /** Newest first. */
  log: readonly LogEntry[];
}

export interface ActivityRecorder {
  /** An inspection observer: pass it as the actor's `inspect` option (`createActor(machine, { inspect })`). */
  readonly inspect: (inspection: InspectionEvent) => void;
  getActivity(): Activity;
  subscribe(listener: () => void): () => void;
}

export interface RecorderOptions {
  /** The actor to follow when it is already running; by default the root actor of the inspected system. */
  actor?: AnyActorRef;
  /** Log entries kept, default 50. */
  maxLogEntries?: number;
}

export const transitionKey = (source: string, eventType: string, target: string) => `${source}|${eventType}|${target}`;

/** Every active state path of a state value, from the top: `{ offline: 'waiting' }` -> offline, offline.waiting. */
export function activePaths(value: unknown, prefix: string[] = []): string[] {
  if (typeof value === 'string') return [[...prefix, value].join('.')];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => [
    [...prefix, key].join('.'),
    ...activePaths(child, [...prefix, key]),
  ]);
}

/** The leaves of a state value, e.g. `offline.waiting`; parallel regions joined with `, `. */
export function stateText(value: unknown): string {
  const paths = activePaths(value);
  return paths.filter((path) => !paths.some((other) => other.startsWith(`${path}.`))).join(', ');
}

function activeKeys(snapshot: AnyMachineSnapshot | undefined): Set<string> {
  if (snapshot?.machine === undefined) return new Set();
  return new Set([`#${snapshot.machine.id}`, ...activePaths(snapshot.value)]);
}

function keysOf(transitions: AnyTransitionDefinition[]): string[] {
  return transitions.flatMap((transition) =>
    (transition.target ?? [transition.source]).map((target) =>
      transitionKey(stateKey(transition.source), transition.eventType, stateKey(target)),
    ),
  );
}

const sameStep = (a: LogEntry, b: LogEntry) =>
  a.step.changed === b.step.changed &&
  a.event.type === b.event.type &&
  a.event.sessionKey === b.event.sessionKey &&
  a.event.errorCode === b.event.errorCode &&
  a.state === b.state;

function withEntry(log: readonly LogEntry[], entry: LogEntry, limit: number): LogEntry[] {
  const latest = log[0];
  if (latest !== undefined && sameStep(latest, entry)) {
    return [{ ...latest, step: entry.step, count: latest.count + 1 }, ...log.slice(1)];
  }
  return [entry, ...log].slice(0, limit);
}

export function createActivityRecorder({ actor, maxLogEntries = 50 }: RecorderOptions = {}): ActivityRecorder {
  let previous = actor?.getSnapshot() as AnyMachineSnapshot | undefined;
  let published: Activity = { active: activeKeys(previous), lastTransitions: new Set(), log: [] };
  let current = published;
  let nextId = 0;
  let stepTransitions: string[] = [];
  let scheduled = false;
  const listeners = new Set<() => void>();
  // Events can reach the actor while React renders another component (a store getter that sends one):
  // listeners hear of them in a microtask, never from inside that render.
  const publish = () => {
    scheduled = false;
    published = current;
    listeners.forEach((listener) => listener());
  };
  const isFollowed = (inspection: InspectionEvent) =>
    actor ? inspection.actorRef === actor : inspection.actorRef.sessionId === inspection.rootId;

  const inspect = (inspection: InspectionEvent) => {
    if (!isFollowed(inspection)) return;
    if (inspection.type === '@xstate.microstep') {
      stepTransitions.push(...keysOf(inspection._transitions));
      return;
    }
    if (inspection.type !== '@xstate.snapshot') return;
    const snapshot = inspection.snapshot as AnyMachineSnapshot;
    const changed = stepTransitions.length > 0;
    const step: LoggedStep = { event: inspection.event, snapshot, previous, changed, at: Date.now() };
    const entry: LogEntry = { id: (nextId += 1), step, event: summarizeEvent(inspection.event), state: stateText(snapshot.value), count: 1 };
    current = {
      active: activeKeys(snapshot),
      lastTransitions: changed ? new Set(stepTransitions) : current.lastTransitions,
      log: withEntry(current.log, entry, maxLogEntries),
    };
    previous = snapshot;
    stepTransitions = [];
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(publish);
    }
  };
  return {
    inspect,
    getActivity: () => published,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

const idle = createActivityRecorder();

export interface ActivityOptions {
  /** A recorder that has followed the actor since it started; without one the hook records from now on. */
  recorder?: ActivityRecorder;
  /** Log entries kept by the hook's own recorder, default 50. */
  maxLogEntries?: number;
}

export function useActorActivity(actor: AnyActorRef | undefined, { recorder, maxLogEntries }: ActivityOptions = {}): Activity {
  const own = useMemo(
    () => (recorder || !actor ? null : createActivityRecorder({ actor, maxLogEntries })),
    [actor, recorder, maxLogEntries],
  );
  useEffect(() => {
    if (!own || !actor) return;
    const subscription = actor.system.inspect(own.inspect);
    return () => subscription.unsubscribe();
  }, [actor, own]);
  const source = recorder ?? own ?? idle;
  return useSyncExternalStore(source.subscribe, source.getActivity, source.getActivity);
}
