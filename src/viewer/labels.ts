/** The names the viewer shows for states, events and guards, read from a machine's definition. */
import type { AnyStateNode } from 'xstate';

/**
 * A readable event name: `done(refreshToken)` for `xstate.done.actor.refreshToken`, `always` for eventless,
 * `start` for the actor's start. `logicById` names the actor logic behind XState's generated invoke ids
 * (`0.session.stale`).
 */
export function eventLabel(eventType: string, logicById: ReadonlyMap<string, string> = new Map()): string {
  if (eventType === '') return 'always';
  if (eventType === 'xstate.init') return 'start';
  const actorEvent = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  if (actorEvent) return `${actorEvent[1]}(${logicById.get(actorEvent[2]!) ?? actorEvent[2]})`;
  const delayed = /^xstate\.after\.(\d+)\./.exec(eventType);
  if (delayed) return `after ${delayed[1]} ms`;
  return eventType;
}

/** The name of a guard, including the operands of `not`/`and`/`or`; null when the transition has none. */
export function guardName(guard: unknown): string | null {
  if (guard === undefined || guard === null) return null;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const operands = (guard as { guards?: unknown[] }).guards;
    return operands ? `${guard.name}(${operands.map(guardName).join(', ')})` : guard.name || 'guard';
  }
  if (typeof guard === 'object' && 'type' in guard) return String(guard.type);
  return 'guard';
}

/** The actor logic (`src`) of each invoke whose id XState made up (`<index>.<state id>`). */
export function generatedInvokeIds(node: AnyStateNode, found = new Map<string, string>()): Map<string, string> {
  for (const invoke of node.invoke) {
    if (/^\d+\./.test(invoke.id) && typeof invoke.src === 'string') {
      // Inline logic has a made-up src too: `xstate.invoke.<id>`.
      found.set(invoke.id, invoke.src.startsWith('xstate.invoke.') ? 'invoke' : invoke.src);
    }
  }
  Object.values(node.states).forEach((child) => generatedInvokeIds(child as AnyStateNode, found));
  return found;
}

/** A state's own name; the machine id for the root, `H name` (`H*` deep) for a history state. */
export function displayName(node: AnyStateNode): string {
  if (node.path.length === 0) return node.machine.id;
  if (node.type === 'history') return `${node.history === 'deep' ? 'H*' : 'H'} ${node.key}`;
  return node.key;
}
