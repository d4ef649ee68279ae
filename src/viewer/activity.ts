/**
 * Follows a running actor through its system's inspection stream: the active state nodes, the transitions of
 * its last step that changed anything, and a log of the events it received (summarized, see events.ts).
 */
import { useEffect, useRef, useState } from 'react';
import type { AnyActorRef, AnyTransitionDefinition, InspectionEvent } from 'xstate';
import { stateKey } from './graph.js';
import { summarizeEvent, type DescribeEvent, type LoggedEvent } from './events.js';

export interface LogEntry {
  id: number;
  /** Date.now() when the actor finished processing the event. */
  at: number;
  event: LoggedEvent;
  /** The state value after the event, as dotted paths (`offline.waiting`). */
  state: string;
  /** Whether the event took a transition. */
  changed: boolean;
  /** Consecutive identical events that changed nothing are folded into one entry. */
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

interface MachineSnapshotLike {
  value?: unknown;
  machine?: { id: string };
}

function activeKeys(snapshot: MachineSnapshotLike | undefined): Set<string> {
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

function withEntry(log: readonly LogEntry[], entry: LogEntry, limit: number): LogEntry[] {
  const latest = log[0];
  const repeats =
    latest !== undefined &&
    !entry.changed &&
    !latest.changed &&
    latest.event.type === entry.event.type &&
    latest.event.sessionKey === entry.event.sessionKey &&
    latest.state === entry.state;
  if (repeats) return [{ ...latest, at: entry.at, count: latest.count + 1 }, ...log.slice(1)];
  return [entry, ...log].slice(0, limit);
}

export interface ActivityOptions {
  describeEvent?: DescribeEvent;
  /** Log entries kept, default 50. */
  maxLogEntries?: number;
}

export function useActorActivity(actor: AnyActorRef | undefined, options: ActivityOptions = {}): Activity {
  const [activity, setActivity] = useState<Activity>(() => ({
    active: activeKeys(actor?.getSnapshot()),
    lastTransitions: new Set(),
    log: [],
  }));
  const optionsRef = useRef(options);
  optionsRef.current = options;

  useEffect(() => {
    let current: Activity = { active: activeKeys(actor?.getSnapshot()), lastTransitions: new Set(), log: [] };
    setActivity(current);
    if (!actor) return;
    let nextId = 0;
    let stepTransitions: string[] = [];
    let scheduled = false;
    // Events can reach the actor while React renders another component (a store getter that sends one):
    // the state is published in a microtask, never from inside that render.
    const publish = () => {
      scheduled = false;
      setActivity(current);
    };
    const onInspection = (inspection: InspectionEvent) => {
      if (inspection.actorRef !== actor) return;
      if (inspection.type === '@xstate.microstep') {
        stepTransitions.push(...keysOf(inspection._transitions));
        return;
      }
      if (inspection.type !== '@xstate.snapshot') return;
      const snapshot = inspection.snapshot as MachineSnapshotLike;
      const changed = stepTransitions.length > 0;
      const { describeEvent, maxLogEntries = 50 } = optionsRef.current;
      const entry: LogEntry = {
        id: (nextId += 1),
        at: Date.now(),
        event: summarizeEvent(inspection.event, describeEvent),
        state: stateText(snapshot.value),
        changed,
        count: 1,
      };
      current = {
        active: activeKeys(snapshot),
        lastTransitions: changed ? new Set(stepTransitions) : current.lastTransitions,
        log: withEntry(current.log, entry, maxLogEntries),
      };
      stepTransitions = [];
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(publish);
      }
    };
    const subscription = actor.system.inspect(onInspection);
    return () => subscription.unsubscribe();
  }, [actor]);

  return activity;
}
