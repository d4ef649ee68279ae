/**
 * Lays out any XState v5 machine as nested boxes and labelled edges: the states and transitions come from
 * `toDirectedGraph` (xstate/graph) plus the eventless (`always`) transitions it leaves out, the geometry from
 * ELK's layered algorithm (elkjs, the bundled build: no web worker). All coordinates are absolute.
 */
import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';
import { toDirectedGraph, type DirectedGraphNode } from 'xstate/graph';
import { displayName, eventLabel, generatedInvokeIds, guardName } from './labels.js';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ChartState extends Box {
  /** The state's path below the root (`offline.waiting`), or `#<machine id>` for the root. */
  key: string;
  /** The state's own name (the machine id for the root; `H name` for a history state). */
  name: string;
  depth: number;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  /** Drawn as a box of boxes. */
  compound: boolean;
  /** A region of a parallel state: its siblings are active at the same time. */
  region: boolean;
}

/** Pseudo nodes: a compound state's initial dot, and its "any state" handle for transitions defined on it. */
export interface ChartMarker extends Box {
  owner: string;
  kind: 'initial' | 'any';
}

/** One arrow: every transition between the same two states, or the arrow to an initial state. */
export interface ChartEdge {
  id: string;
  /** The transitions' own source and target state keys (a targetless transition targets its source). */
  source: string;
  target: string;
  /** The raw event types (`''` for eventless transitions); empty for the arrow to an initial state. */
  eventTypes: string[];
  /** One label line per distinct event. */
  lines: string[];
  /** One entry per transition, with its guard: `always [isHeldFresh]`. */
  details: string[];
  points: Array<{ x: number; y: number }>;
  labelBox: Box | null;
}

export interface ChartLayout {
  width: number;
  height: number;
  states: ChartState[];
  markers: ChartMarker[];
  edges: ChartEdge[];
}

/** The key of a state node: its path below the root, so `offline.waiting` and `rotated.waiting` differ. */
export const stateKey = (node: AnyStateNode): string =>
  node.path.length > 0 ? node.path.join('.') : `#${node.machine.id}`;

const CHAR_WIDTH = 7;
const LABEL_CHAR_WIDTH = 6.5;
const STATE_HEIGHT = 34;
const TITLE_HEIGHT = 26;
const INITIAL_SIZE = 10;
const ANY_WIDTH = 64;
const ANY_HEIGHT = 20;
const markerId = (owner: string, kind: ChartMarker['kind']) => `${owner}/${kind}`;

interface Transition {
  source: AnyStateNode;
  target: AnyStateNode;
  definition: AnyTransitionDefinition;
}

/** Every transition of the chart: toDirectedGraph's edges (targetless ones loop on their state) and `always`. */
function transitionsOf(graph: DirectedGraphNode): Transition[] {
  const node = graph.stateNode;
  const listed: Transition[] = graph.edges.map((edge) => ({
    source: edge.source,
    target: edge.target,
    definition: edge.transition,
  }));
  for (const definition of node.always ?? []) {
    for (const target of definition.target ?? [node]) listed.push({ source: node, target, definition });
  }
  return listed.concat(graph.children.flatMap(transitionsOf));
}

const isWithin = (node: AnyStateNode, ancestor: AnyStateNode) =>
  ancestor.path.every((segment: string, index: number) => node.path[index] === segment);
const isCompound = (node: AnyStateNode) => Object.keys(node.states).length > 0;

/**
 * ELK cannot route an edge between a compound state and its own descendants (a transition defined on a
 * parent, or a child re-entering its parent), so such an end attaches to the parent's "any state" handle.
 */
function elkEnds({ source, target }: Transition): [string, string] {
  const fromParent = isCompound(source) && isWithin(target, source);
  const toParent = isCompound(target) && isWithin(source, target);
  return [
    fromParent ? markerId(stateKey(source), 'any') : stateKey(source),
    toParent ? markerId(stateKey(target), 'any') : stateKey(target),
  ];
}

const textWidth = (text: string, perChar: number) => Math.ceil(text.length * perChar) + 20;

function toElkNode(graph: DirectedGraphNode, handles: Set<string>, nodes: Map<string, AnyStateNode>): ElkNode {
  const node = graph.stateNode;
  const key = stateKey(node);
  nodes.set(key, node);
  if (graph.children.length === 0) {
    return { id: key, width: Math.max(80, textWidth(displayName(node), CHAR_WIDTH)), height: STATE_HEIGHT };
  }
  const children = graph.children.map((child) => toElkNode(child, handles, nodes));
  if (handles.has(key)) children.unshift({ id: markerId(key, 'any'), width: ANY_WIDTH, height: ANY_HEIGHT });
  if (node.initial?.target?.length) {
    children.unshift({ id: markerId(key, 'initial'), width: INITIAL_SIZE, height: INITIAL_SIZE });
  }
  return {
    id: key,
    layoutOptions: {
      'elk.padding': `[top=${TITLE_HEIGHT + 8},left=14,bottom=14,right=14]`,
      'elk.nodeSize.minimum': `(${textWidth(displayName(node), CHAR_WIDTH)}, 0)`,
      'elk.nodeSize.constraints': 'MINIMUM_SIZE',
    },
    children,
  };
}

const initialTransitions = (graph: DirectedGraphNode): Array<{ owner: string; target: string }> =>
  (graph.stateNode.initial?.target ?? [])
    .map((target: AnyStateNode) => ({ owner: stateKey(graph.stateNode), target: stateKey(target) }))
    .concat(graph.children.flatMap(initialTransitions));

const ROOT_OPTIONS = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
  'elk.json.shapeCoords': 'ROOT',
  'elk.json.edgeCoords': 'ROOT',
  'elk.spacing.nodeNode': '18',
  'elk.spacing.edgeEdge': '6',
  'elk.spacing.edgeNode': '10',
  'elk.spacing.edgeLabel': '3',
  'elk.layered.spacing.nodeNodeBetweenLayers': '28',
  'elk.layered.spacing.edgeNodeBetweenLayers': '12',
  'elk.layered.spacing.edgeEdgeBetweenLayers': '6',
  // Keeps the order states are written in where the layering leaves a choice.
  'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
};

function readLayout(laidOut: ElkNode, nodes: Map<string, AnyStateNode>): Pick<ChartLayout, 'states' | 'markers'> {
  const states: ChartState[] = [];
  const markers: ChartMarker[] = [];
  const visit = (node: ElkNode, depth: number) => {
    const box = { x: node.x ?? 0, y: node.y ?? 0, width: node.width ?? 0, height: node.height ?? 0 };
    const marker = /^(.*)\/(initial|any)$/.exec(node.id);
    if (marker) {
      markers.push({ owner: marker[1]!, kind: marker[2] as ChartMarker['kind'], ...box });
      return;
    }
    const state = nodes.get(node.id)!;
    states.push({
      key: node.id,
      name: displayName(state),
      depth,
      type: state.type,
      compound: (node.children?.length ?? 0) > 0,
      region: state.parent?.type === 'parallel',
      ...box,
    });
    node.children?.forEach((child) => visit(child, depth + 1));
  };
  visit(laidOut, 0);
  return { states, markers };
}

function routeOf(edge: ElkExtendedEdge | undefined): Pick<ChartEdge, 'points' | 'labelBox'> {
  const points = (edge?.sections ?? []).flatMap((s) => [s.startPoint, ...(s.bendPoints ?? []), s.endPoint]);
  const label = edge?.labels?.[0];
  const labelBox = label ? { x: label.x ?? 0, y: label.y ?? 0, width: label.width ?? 0, height: label.height ?? 0 } : null;
  return { points, labelBox };
}

interface EdgeGroup {
  id: string;
  ends: [string, string];
  transitions: Transition[];
}

/** Transitions between the same two states share one arrow: fewer crossings, one label per event. */
function groupTransitions(transitions: Transition[]): EdgeGroup[] {
  const groups = new Map<string, EdgeGroup>();
  for (const transition of transitions) {
    const ends = elkEnds(transition);
    const key = ends.join(' -> ');
    const group = groups.get(key) ?? { id: `t${groups.size}`, ends, transitions: [] };
    group.transitions.push(transition);
    groups.set(key, group);
  }
  return [...groups.values()];
}

const unique = (values: string[]) => [...new Set(values)];
const LINE_HEIGHT = 13;

/** Computes the picture of `machine`. Pure and asynchronous (ELK runs on the calling thread). */
export async function layoutMachine(
  machine: AnyStateMachine,
  /** ELK layout options for the root, over the defaults (for example `{ 'elk.direction': 'RIGHT' }`). */
  layoutOptions: Record<string, string> = {},
): Promise<ChartLayout> {
  const graph = toDirectedGraph(machine.root);
  const groups = groupTransitions(transitionsOf(graph));
  const handles = new Set(
    groups.flatMap((group) => group.ends.filter((id) => id.endsWith('/any')).map((id) => id.slice(0, -'/any'.length))),
  );
  const initials = initialTransitions(graph);
  const logicById = generatedInvokeIds(machine.root);
  const labelOf = (definition: AnyTransitionDefinition) => eventLabel(definition.eventType, logicById);
  const linesOf = (group: EdgeGroup) => unique(group.transitions.map((t) => labelOf(t.definition)));

  const nodes = new Map<string, AnyStateNode>();
  const root = toElkNode(graph, handles, nodes);
  root.layoutOptions = { ...root.layoutOptions, ...ROOT_OPTIONS, ...layoutOptions };
  root.edges = [
    ...initials.map(({ owner, target }) => ({ id: `i:${owner}`, sources: [markerId(owner, 'initial')], targets: [target] })),
    ...groups.map((group) => {
      const lines = linesOf(group);
      const width = Math.max(...lines.map((line) => textWidth(line, LABEL_CHAR_WIDTH) - 14));
      return {
        id: group.id,
        sources: [group.ends[0]],
        targets: [group.ends[1]],
        labels: [{ id: `${group.id}:label`, text: lines.join('\n'), width, height: lines.length * LINE_HEIGHT + 2 }],
      };
    }),
  ];

  const laidOut = await new ELK().layout(root);
  const routes = new Map((laidOut.edges ?? []).map((edge) => [edge.id, edge]));
  const edges: ChartEdge[] = [
    ...initials.map(({ owner, target }) => ({
      id: `i:${owner}`,
      source: owner,
      target,
      eventTypes: [],
      lines: [],
      details: [],
      ...routeOf(routes.get(`i:${owner}`)),
    })),
    ...groups.map((group) => ({
      id: group.id,
      source: stateKey(group.transitions[0]!.source),
      target: stateKey(group.transitions[0]!.target),
      eventTypes: unique(group.transitions.map((t) => t.definition.eventType)),
      lines: linesOf(group),
      details: group.transitions.map(({ definition }) => {
        const guard = guardName(definition.guard);
        return guard ? `${labelOf(definition)} [${guard}]` : labelOf(definition);
      }),
      ...routeOf(routes.get(group.id)),
    })),
  ];
  return { width: laidOut.width ?? 0, height: laidOut.height ?? 0, ...readLayout(laidOut, nodes), edges };
}
