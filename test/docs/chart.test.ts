import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { and, createMachine, fromPromise, not, sendParent, setup, type AnyStateMachine, type AnyStateNode } from 'xstate';
import { requestMachine } from '../../machines/requestMachine.js';
import { sessionMachine } from '../../machines/sessionMachine.js';
import { STATECHART_PATH, renderStatechart, renderStatechartPage } from '../../scripts/chart.js';

function stateNodes(node: AnyStateNode): AnyStateNode[] {
  const children = Object.values(node.states) as AnyStateNode[];
  return [...children, ...children.flatMap(stateNodes)];
}

const mermaidBlock = (machine: AnyStateMachine) => `\`\`\`mermaid\n${renderStatechart(machine)}\`\`\``;

describe('docs/statechart.md', () => {
  it('is the chart of the current machine', () => {
    const committed = readFileSync(STATECHART_PATH, 'utf8').replace(/\r\n/g, '\n');
    expect(committed, 'docs/statechart.md is out of date: run `npm run docs:chart`').toBe(
      renderStatechartPage(sessionMachine),
    );
  });

  it('draws the session machine, then the request child it invokes at its root, each as a chart of its own', () => {
    const page = renderStatechartPage(sessionMachine);
    const session = page.indexOf(mermaidBlock(sessionMachine));
    const request = page.indexOf(mermaidBlock(requestMachine));
    expect(session).toBeGreaterThan(0);
    expect(request).toBeGreaterThan(session);
    expect(page).toContain('## `request`, invoked by `session` as `request`');
    expect(page).toContain('The `session` machine runs it at its root, for as long as it runs.');
  });

  it('shows the session machine entering its nested states', () => {
    const lines = renderStatechart(sessionMachine).split('\n').map((line) => line.trim());
    expect(lines).toContain('[*] --> offline_waiting');
    expect(lines).toContain('[*] --> rotated_fetching');
  });
});

describe.each([
  ['sessionMachine', sessionMachine],
  ['requestMachine', requestMachine],
])('the chart of %s', (_name, machine: AnyStateMachine) => {
  const diagram = renderStatechart(machine);
  const lines = diagram.split('\n').map((line) => line.trim());
  const allNodes = [machine.root, ...stateNodes(machine.root)];

  it('declares every state of the machine, nested ones inside their parent', () => {
    const states = stateNodes(machine.root);
    expect(states.length).toBeGreaterThan(1);
    for (const node of states) {
      const id = node.path.join('_');
      const declarations = [id, `state ${id} {`, `state "${node.key}" as ${id}`];
      expect(lines.some((line) => declarations.includes(line)), `state ${node.id}`).toBe(true);
    }
  });

  it('labels a transition with every event the machine handles, invoke results by their actor', () => {
    const logicById = new Map(allNodes.flatMap((node) => node.invoke.map((invoke) => [invoke.id, String(invoke.src)] as const)));
    for (const eventType of machine.events) {
      const actorEvent = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
      const label = actorEvent ? `${actorEvent[1]}(${logicById.get(actorEvent[2]!)})` : eventType;
      // An edge label starts after ': ' or '<br/>'; a note line (transitions that stay) after the indentation.
      const escaped = label.replace(/[.()]/g, '\\$&');
      expect(diagram, eventType).toMatch(new RegExp(`(: |<br/>|^ +)${escaped}( |<br/>|$)`, 'm'));
    }
  });

  it('notes every invoked actor on its state', () => {
    for (const node of allNodes) {
      for (const invoke of node.invoke) expect(diagram).toContain(`invokes ${String(invoke.src)}`);
    }
  });
});

describe('renderStatechart', () => {
  const toy = setup({
    actors: { load: fromPromise(async () => 1) },
    guards: { ready: () => true, allowed: () => true },
    actions: { remember: () => {} },
  }).createMachine({
    id: 'toy',
    initial: 'idle',
    on: { RESET: { target: '.idle', actions: 'remember' }, PING: {} },
    states: {
      idle: { on: { GO: [{ guard: and(['ready', not('allowed')]), target: 'busy' }, { target: 'busy.loading' }] } },
      busy: {
        initial: 'loading',
        tags: ['working'],
        states: {
          loading: { invoke: { src: 'load', id: 'loader', onDone: 'done', onError: '#toy.idle' } },
          done: { always: '#toy.idle' },
        },
        on: { GO: { target: 'busy', reenter: true } },
      },
    },
  });

  it('draws nesting, initial states, guards, actions, eventless and invoke transitions', () => {
    const toyLines = renderStatechart(toy).split('\n').map((line) => line.trim());
    expect(toyLines[0]).toBe('stateDiagram-v2');
    expect(toyLines).toEqual(
      expect.arrayContaining([
        'state "any state" as toy',
        '[*] --> idle',
        'state busy {',
        '[*] --> busy_loading',
        'state "loading" as busy_loading',
        'invokes load as loader',
        'tags: working',
        'PING (stays)',
        'toy --> idle : RESET / remember',
        'idle --> busy : GO [and(ready, not(allowed))]',
        'idle --> busy_loading : GO',
        'busy --> busy : GO (reenter)',
        'busy_loading --> busy_done : done(load)',
        'busy_loading --> idle : error(load)',
        'busy_done --> idle : always',
      ]),
    );
  });

  it('names an inline sendParent by its target, and gives each invoked machine a chart after its parent', () => {
    const child = setup({}).createMachine({
      id: 'child',
      initial: 'waiting',
      states: { waiting: { on: { POKE: { target: 'poked', actions: sendParent({ type: 'POKED' }) } } }, poked: {} },
    });
    const parent = setup({ actors: { child } }).createMachine({
      id: 'parent',
      initial: 'idle',
      states: { idle: { on: { START: 'running' } }, running: { invoke: { src: 'child', id: 'kid' }, on: { POKED: 'idle' } } },
    });
    expect(renderStatechart(child)).toContain('waiting --> poked : POKE / sendParent');
    const page = renderStatechartPage(parent);
    expect(page.indexOf(mermaidBlock(child))).toBeGreaterThan(page.indexOf(mermaidBlock(parent)));
    expect(page).toContain('## `child`, invoked by `parent` as `kid`\n\nThe `parent` machine runs it in its state `running`.');
  });

  it('gives the same text for the same definition', () => {
    const again = createMachine(toy.config);
    expect(renderStatechart(again)).toBe(renderStatechart(toy));
  });
});
