/**
 * Draws the session statechart as Mermaid `stateDiagram-v2` diagrams from the machine definitions themselves
 * (the session machine and every machine it invokes, such as its request child), so the picture cannot drift
 * from the code. `npm run docs:chart` writes docs/statechart.md; test/docs/chart.test.ts
 * fails when the committed file differs from a fresh rendering.
 */
import { realpathSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';
import { sessionMachine } from '../machines/sessionMachine.js';

export const STATECHART_PATH = fileURLToPath(new URL('../docs/statechart.md', import.meta.url));

/** The Mermaid id of a state node: its path below the root, so `offline.waiting` and `rotated.waiting` differ. */
function diagramId(node: AnyStateNode): string {
  return node.parent ? node.path.join('_') : node.machine.id;
}

/** XState's generated id for an invoke without one (`<index>.<state id>`): not worth showing. */
const isGeneratedInvokeId = (id: string) => /^\d+\./.test(id);

/** Higher-order guards (`not`, `and`, `or`, `stateIn`) are functions carrying their operands. */
interface GuardFunction {
  (...args: never[]): unknown;
  guards?: unknown[];
  stateValue?: unknown;
}

function guardName(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const fn = guard as GuardFunction;
    if (fn.guards) return `${fn.name}(${fn.guards.map(guardName).join(', ')})`;
    if (fn.stateValue !== undefined) return `stateIn(${JSON.stringify(fn.stateValue).replace(/"/g, '')})`;
    return fn.name || 'inline guard';
  }
  if (typeof guard === 'object' && guard !== null && 'type' in guard) return String(guard.type);
  return 'inline guard';
}

/** XState's `sendTo` and `sendParent` are functions carrying whom they send to. */
interface SendToFunction {
  (...args: never[]): unknown;
  type?: unknown;
  to?: unknown;
}

function actionName(action: unknown): string {
  if (typeof action === 'string') return action;
  if (typeof action === 'function') {
    const { type, to } = action as SendToFunction;
    // Written inline, they are named by their target: what a child machine reports to its parent shows as such.
    if (type === 'xstate.sendTo' && typeof to === 'string') return to === '#_parent' ? 'sendParent' : `sendTo(${to})`;
    return action.name || 'inline action';
  }
  if (typeof action === 'object' && action !== null && 'type' in action) {
    const params = 'params' in action && action.params !== null && typeof action.params === 'object' ? action.params : {};
    const values = Object.values(params).map(String);
    return values.length > 0 ? `${String(action.type)}(${values.join(', ')})` : String(action.type);
  }
  return 'inline action';
}

/** The actor logic names behind invoke ids, so `xstate.done.actor.<id>` can be shown as `done(<logic>)`. */
function invokedLogicById(root: AnyStateNode): Map<string, string> {
  const byId = new Map<string, string>();
  const visit = (node: AnyStateNode) => {
    for (const invoke of node.invoke) byId.set(invoke.id, String(invoke.src));
    Object.values(node.states).forEach(visit);
  };
  visit(root);
  return byId;
}

function eventLabel(eventType: string, logicById: Map<string, string>): string {
  const actorEvent = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  if (actorEvent) return `${actorEvent[1]}(${logicById.get(actorEvent[2]!) ?? actorEvent[2]})`;
  const delayed = /^xstate\.after\.(.+?)\./.exec(eventType);
  if (delayed) return `after(${delayed[1]})`;
  return eventType;
}

function transitionLabel(transition: AnyTransitionDefinition, event: string): string {
  const guard = transition.guard === undefined ? '' : ` [${guardName(transition.guard)}]`;
  const actions = transition.actions.length > 0 ? ` / ${transition.actions.map(actionName).join(', ')}` : '';
  return `${event}${guard}${actions}${transition.reenter ? ' (reenter)' : ''}`;
}

/** Every transition of a node, eventless ones first, each with its display label. */
function transitionsOf(node: AnyStateNode, logicById: Map<string, string>) {
  const listed = (node.always ?? []).map((transition) => ({ transition, event: 'always' }));
  for (const [eventType, transitions] of node.transitions) {
    for (const transition of transitions) listed.push({ transition, event: eventLabel(eventType, logicById) });
  }
  return listed.map(({ transition, event }) => ({ transition, label: transitionLabel(transition, event) }));
}

/** Invoked actors, entry/exit actions, tags and transitions that stay in the state: what edges cannot show. */
function noteLines(node: AnyStateNode, logicById: Map<string, string>): string[] {
  const lines = node.invoke.map(
    (invoke) => `invokes ${String(invoke.src)}${isGeneratedInvokeId(invoke.id) || invoke.id === invoke.src ? '' : ` as ${invoke.id}`}`,
  );
  for (const [kind, actions] of [['entry', node.entry], ['exit', node.exit]] as const) {
    if (actions.length > 0) lines.push(`${kind} / ${actions.map(actionName).join(', ')}`);
  }
  if (node.tags.length > 0) lines.push(`tags: ${[...node.tags].sort().join(', ')}`);
  for (const { transition, label } of transitionsOf(node, logicById)) {
    if (!transition.target) lines.push(`${label} (stays)`);
  }
  return lines;
}

function renderNote(node: AnyStateNode, lines: string[], indent: string, side = 'right'): string[] {
  if (lines.length === 0) return [];
  return [`${indent}note ${side} of ${diagramId(node)}`, ...lines.map((line) => `${indent}  ${line}`), `${indent}end note`];
}

/** Declares a node (and its children, nested), its initial state and its note. Edges come later, flat. */
function renderStructure(node: AnyStateNode, logicById: Map<string, string>, indent: string): string[] {
  const id = diagramId(node);
  const children = Object.values(node.states) as AnyStateNode[];
  const declaration = id === node.key ? id : `state "${node.key}" as ${id}`;
  const lines: string[] = [];
  if (children.length === 0) {
    lines.push(`${indent}${declaration}`);
  } else {
    if (id !== node.key) lines.push(`${indent}${declaration}`);
    lines.push(`${indent}state ${id} {`);
    for (const target of node.initial.target) lines.push(`${indent}  [*] --> ${diagramId(target)}`);
    for (const child of children) lines.push(...renderStructure(child, logicById, `${indent}  `));
    lines.push(`${indent}}`);
  }
  lines.push(...renderNote(node, noteLines(node, logicById), indent));
  return lines;
}

/** Every edge of the chart; transitions between the same two states share one edge, a label a line. */
function renderEdges(root: AnyStateNode, logicById: Map<string, string>): string[] {
  const labelsByEdge = new Map<string, string[]>();
  const visit = (node: AnyStateNode) => {
    for (const { transition, label } of transitionsOf(node, logicById)) {
      for (const target of transition.target ?? []) {
        const edge = `${diagramId(node)} --> ${diagramId(target)}`;
        labelsByEdge.set(edge, [...(labelsByEdge.get(edge) ?? []), label]);
      }
    }
    Object.values(node.states).forEach(visit);
  };
  visit(root);
  return [...labelsByEdge].map(([edge, labels]) => `  ${edge} : ${labels.join('<br/>')}`);
}

/**
 * The Mermaid diagram of a machine. The root is drawn as an "any state" node: its transitions are taken
 * from every state. Composite states nest their children; every edge is listed after the structure so
 * Mermaid never creates a node inside the wrong composite.
 */
export function renderStatechart(machine: AnyStateMachine): string {
  const root = machine.root;
  const logicById = invokedLogicById(root);
  const lines = [
    'stateDiagram-v2',
    `  state "any state" as ${diagramId(root)}`,
    ...renderNote(root, noteLines(root, logicById), '  ', 'left'),
    ...root.initial.target.map((target: AnyStateNode) => `  [*] --> ${diagramId(target)}`),
    ...(Object.values(root.states) as AnyStateNode[]).flatMap((child) => renderStructure(child, logicById, '  ')),
    ...renderEdges(root, logicById),
  ];
  return `${lines.join('\n')}\n`;
}

/** States with an unguarded eventless transition: the machine passes through them within one step. */
function transientStates(node: AnyStateNode): string[] {
  const own = (node.always ?? []).some((transition) => transition.guard === undefined) ? [diagramId(node)] : [];
  return [...own, ...(Object.values(node.states) as AnyStateNode[]).flatMap(transientStates)];
}

interface Chart {
  machine: AnyStateMachine;
  /** For an invoked machine: its invoke id and the state of its parent that invokes it. */
  invoked?: { id: string; parent: AnyStateMachine; in: AnyStateNode };
}

const isMachine = (logic: unknown): logic is AnyStateMachine =>
  typeof logic === 'object' && logic !== null && 'root' in logic && 'implementations' in logic;

/** The machine, then every machine it invokes (the logic its `setup` names), depth first: each gets a chart. */
function chartsOf(machine: AnyStateMachine): Chart[] {
  const actors = (machine.implementations.actors ?? {}) as Record<string, unknown>;
  const invoked: Chart[] = [];
  const visit = (node: AnyStateNode) => {
    for (const invoke of node.invoke) {
      const logic = typeof invoke.src === 'string' ? actors[invoke.src] : invoke.src;
      if (isMachine(logic)) invoked.push({ machine: logic, invoked: { id: invoke.id, parent: machine, in: node } });
    }
    Object.values(node.states).forEach(visit);
  };
  visit(machine.root);
  return [{ machine }, ...invoked.flatMap((chart) => [chart, ...chartsOf(chart.machine).slice(1)])];
}

function chartSection({ machine, invoked }: Chart): string {
  const where = invoked && (invoked.in.parent ? `in its state \`${diagramId(invoked.in)}\`` : 'at its root, for as long as it runs');
  const heading = invoked
    ? `## \`${machine.id}\`, invoked by \`${invoked.parent.id}\` as \`${invoked.id}\`\n\nThe \`${invoked.parent.id}\` machine runs it ${where}.`
    : `## \`${machine.id}\``;
  return `${heading}\n\n\`\`\`mermaid\n${renderStatechart(machine)}\`\`\`\n`;
}

/** The whole docs/statechart.md page: the machine's chart, then one for each machine it invokes. */
export function renderStatechartPage(machine: AnyStateMachine = sessionMachine): string {
  const charts = chartsOf(machine);
  const transient = charts.flatMap((chart) => transientStates(chart.machine.root)).map((id) => `\`${id}\``);
  return `# The session statechart

<!-- Generated by \`npm run docs:chart\` (scripts/chart.ts) from machines/sessionMachine.ts. Do not edit by hand. -->

Drawn from the machine definitions themselves. How to read them:

- An edge label is \`event [guard] / actions\`, one line per transition between the same two states; for one
  event, guards are tried in the order the machine lists them and the first that passes wins.
- \`always\` is an eventless transition, taken as soon as its guard passes. States that always have one to take
  (${transient.join(', ')}) are transient: no snapshot ever shows them.
- \`done(x)\` and \`error(x)\` are the invoked actor \`x\` resolving and failing; leaving a state stops its actors.
- "any state" is a machine's root: its transitions apply in every state unless the state handles the event itself.
- Notes list each state's invoked actors, entry and exit actions, tags, and the events it handles without
  leaving (\`stays\`).
- A machine that another invokes has a chart of its own below its parent's: the events it gets are sent by its
  parent's actions, and the events it sends its parent appear in the parent's chart.

What each state and event means, and why: [architecture.md](architecture.md).

${charts.map(chartSection).join('\n')}`;
}

const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  writeFileSync(STATECHART_PATH, renderStatechartPage());
  console.log(`wrote ${STATECHART_PATH}`);
}
