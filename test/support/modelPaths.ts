import type { AnyStateNode, AnyTransitionDefinition } from 'xstate';
import { getAdjacencyMap, getShortestPaths, getStateNodes, type AdjacencyMap, type AdjacencyValue } from 'xstate/graph';
import { sessionMachine } from '../../machines/sessionMachine.js';
import type { SessionConfig } from '../../machines/types.js';
import { commandsFor, serializeModel, sessionModelLogic } from './modelCommands.js';
import { initialModel, stepModel, type ModelCommand, type ModelState } from './sessionModel.js';

/** Path generation over the session model with `xstate/graph`, and what the paths cover of the machine. */

export interface ModelPath {
  readonly config: SessionConfig;
  readonly commands: readonly ModelCommand[];
}

type ModelSnapshot = { context: ModelState };

/**
 * One shortest path to every abstract state, plus, for every edge that takes a machine transition no path
 * took yet, the shortest path to its source followed by that edge. `explore` limits the traversal; `alsoTake`
 * adds edges that take no transition but must be replayed (a guard that holds the machine where it is).
 */
export function generatePaths(
  config: SessionConfig,
  explore?: (model: ModelState) => boolean,
  alsoTake?: (from: ModelState, command: ModelCommand) => boolean,
): ModelPath[] {
  const logic = sessionModelLogic(config);
  const options = {
    events: (snapshot: ModelSnapshot) => commandsFor(snapshot.context),
    serializeState: (snapshot: ModelSnapshot) => serializeModel(snapshot.context),
    ...(explore ? { stopWhen: (snapshot: ModelSnapshot) => !explore(snapshot.context) } : {}),
  };
  // xstate/graph types its options after the logic's snapshot union; these read only the active snapshot.
  const traversal = options as never;
  const commandsOf = (steps: ReadonlyArray<{ event: { type: string } }>) =>
    steps.map((step) => step.event).filter((event): event is ModelCommand => event.type !== 'xstate.init');

  const toState = new Map<string, ModelCommand[]>();
  for (const path of getShortestPaths(logic, traversal)) {
    toState.set(serializeModel(path.state.context), commandsOf(path.steps));
  }
  const paths: ModelPath[] = [...toState.values()].map((commands) => ({ config, commands }));
  // Walked again: a path's steps hold the traversal's representative states, not what this path took.
  const taken = new Set<AnyTransitionDefinition>();
  for (const path of paths) walk(path, (model) => model.taken.forEach((t) => taken.add(t)));
  const adjacency = getAdjacencyMap(logic, traversal) as AdjacencyMap<ModelSnapshot, ModelCommand>;
  type Edges = AdjacencyValue<ModelSnapshot, ModelCommand>['transitions'];
  for (const [key, { state: from, transitions }] of Object.entries(adjacency)) {
    for (const { event, state } of Object.values(transitions as Edges)) {
      const news = state.context.taken.filter((t) => !taken.has(t));
      if (alsoTake?.(from.context, event)) {
        paths.push({ config, commands: [...(toState.get(key) ?? []), event] });
        continue;
      }
      if (news.length === 0) continue;
      news.forEach((t) => taken.add(t));
      paths.push({ config, commands: [...(toState.get(key) ?? []), event] });
    }
  }
  return paths;
}

/** Runs a path through the model; `visit` sees every state, the initial one too. */
export function walk(path: ModelPath, visit: (model: ModelState) => void): void {
  let model = initialModel(path.config);
  visit(model);
  for (const command of path.commands) {
    model = stepModel(model, command);
    visit(model);
  }
}

const stateNodes = (): AnyStateNode[] => getStateNodes(sessionMachine.root);

/** Every transition the machine defines: `on`, invoke `onDone`/`onError` and `always`, of every state node. */
function definedTransitions(): AnyTransitionDefinition[] {
  return [sessionMachine.root, ...stateNodes()].flatMap((node) => [
    ...[...node.transitions.values()].flat(),
    ...(node.always ?? []),
  ]);
}

function describeTransition(transition: AnyTransitionDefinition): string {
  const siblings = transition.eventType
    ? (transition.source.transitions.get(transition.eventType) ?? [])
    : (transition.source.always ?? []);
  const index = siblings.indexOf(transition);
  const target = transition.target?.map((node) => `#${node.id}`).join(',') ?? '(no target)';
  return `${transition.source.id} --${transition.eventType || 'always'}[${index}]--> ${target}`;
}

/** What a set of paths reaches: transitions taken and state nodes active at some (micro)step. */
export function coverageOf(paths: readonly ModelPath[]) {
  const taken = new Set<AnyTransitionDefinition>();
  const reached = new Set<AnyStateNode>();
  const nodes = stateNodes();
  for (const path of paths) {
    walk(path, (model) => {
      // A transition's source was active when it was taken (transient states like `boot` show only so).
      model.taken.forEach((t) => taken.add(t).has(t) && reached.add(t.source));
      for (const snapshot of model.visited) {
        for (const node of nodes) if (snapshot.matches(valueOf(node.path) as never)) reached.add(node);
      }
    });
  }
  const transitions = definedTransitions();
  return {
    transitions,
    nodes,
    missingTransitions: transitions.filter((t) => !taken.has(t)).map(describeTransition),
    missingStates: nodes.filter((node) => !reached.has(node)).map((node) => node.id),
    takenCount: transitions.filter((t) => taken.has(t)).length,
    reachedCount: nodes.filter((node) => reached.has(node)).length,
  };
}

/** ['offline', 'waiting'] -> { offline: 'waiting' } */
function valueOf(path: readonly string[]): string | Record<string, unknown> {
  const [head, ...rest] = path;
  return rest.length === 0 ? head! : { [head!]: valueOf(rest) };
}
