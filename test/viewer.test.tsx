// @vitest-environment jsdom
import { act, cleanup, render, waitFor } from '@testing-library/react';
import { BehaviorSubject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { assign, createActor, createMachine, fromPromise, type AnyStateMachine, type AnyStateNode } from 'xstate';
import { READABLE_LABEL_PX, StatechartViewer, createActivityRecorder, frameChart, layoutMachine, type DescribeEvent } from '../src/viewer/index.js';
import { createSessionEngine, sessionMachine, type SessionEngine, type TokenSet } from '../src/index.js';
import { createTokenServer } from '../src/testing/index.js';

afterEach(cleanup);

/** Every state node's key as the viewer names it: the path below the root. */
function stateKeys(machine: AnyStateMachine): string[] {
  const keys: string[] = [];
  const visit = (node: AnyStateNode) => {
    for (const child of Object.values(node.states) as AnyStateNode[]) {
      keys.push(child.path.join('.'));
      visit(child);
    }
  };
  visit(machine.root);
  return keys;
}

const activeStates = (container: HTMLElement) =>
  [...container.querySelectorAll('[data-state][data-active="true"]')].map((g) => g.getAttribute('data-state')).sort();

const lastEdges = (container: HTMLElement) =>
  [...container.querySelectorAll('[data-edge][data-last="true"]')].map(
    (g) => `${g.getAttribute('data-source')} -> ${g.getAttribute('data-target')}`,
  );

const loggedTypes = (container: HTMLElement) =>
  [...container.querySelectorAll('[data-event-type]')].map((li) => li.getAttribute('data-event-type'));

/** A refresh the test answers by hand. */
function manualRefresh() {
  const pending: Array<(tokens: TokenSet) => void> = [];
  return {
    refresh: () => new Promise<TokenSet>((resolve) => pending.push(resolve)),
    answer: (tokens: TokenSet) => pending.shift()!(tokens),
  };
}

function expectNoPieceOf(html: string, secret: string) {
  expect(html).not.toContain(secret);
  for (let start = 0; start + 20 <= secret.length; start += 1) {
    expect(html.includes(secret.slice(start, start + 20)), `piece at ${start}`).toBe(false);
  }
}

describe('StatechartViewer with the session machine', () => {
  let engine: SessionEngine;
  afterEach(() => engine?.stop());

  it('draws every state, follows the engine and logs events without ever showing a token', async () => {
    const online$ = new BehaviorSubject(true);
    const server = manualRefresh();
    engine = createSessionEngine({ refresh: server.refresh, online$, broadcast: false });
    // The page's words for one event, from the step's snapshots; every other event keeps its chart name.
    const describeEvent: DescribeEvent = ({ label, snapshot, previous }) =>
      label === 'env.offline' ? `offline, ${snapshot.context.token ? 'a token held' : 'no token'}, was ${String(previous?.value)}` : undefined;
    const { container } = render(
      <StatechartViewer
        machine={sessionMachine}
        actor={engine.actor}
        describeEvent={describeEvent}
        expiresAt={() => engine.getSnapshot().expiresAt}
      />,
    );
    await waitFor(() => expect(container.querySelector('svg')).not.toBeNull(), { timeout: 10_000 });

    for (const key of stateKeys(sessionMachine)) {
      expect(container.querySelector(`[data-state="${key}"]`), key).not.toBeNull();
    }
    expect(activeStates(container)).toEqual(['#session', 'signedOut']);
    expect(container.querySelector('[data-testid="token-life"]')?.textContent).toContain('no token held');

    const tokens = createTokenServer();
    const first = tokens.signIn({ lifeSeconds: 60, sid: 'sid-first', refreshToken: 'refresh-token-never-shown-1234567890' });
    const signedInAt = Date.now();
    act(() => engine.signIn(first));
    await waitFor(() => expect(activeStates(container)).toEqual(['#session', 'fresh']));
    // The sign-in went through the root's handler, announcing and settling to fresh in one step.
    expect(lastEdges(container)).toEqual(expect.arrayContaining(['#session -> announcing', 'settling -> fresh']));
    // The label counts down to the engine's expiry: what was left at some moment between the sign-in and now.
    const shownMs = Number(/token: (\d+\.\d) s left/.exec(container.querySelector('[data-testid="token-life"]')!.textContent!)?.[1]) * 1000;
    const expiresAt = engine.getSnapshot().expiresAt!;
    expect(shownMs).toBeGreaterThanOrEqual(expiresAt - Date.now() - 50);
    expect(shownMs).toBeLessThanOrEqual(expiresAt - signedInAt + 50);

    let forced!: Promise<string | null>;
    act(() => {
      forced = engine.getToken({ forceRefresh: true });
    });
    await waitFor(() => expect(activeStates(container)).toEqual(['#session', 'refreshing']));
    expect(lastEdges(container)).toEqual(['fresh -> refreshing']);

    const second = tokens.signIn({ lifeSeconds: 60, sid: 'sid-first' });
    await act(async () => {
      server.answer(second);
      await forced;
    });
    await waitFor(() => expect(activeStates(container)).toEqual(['#session', 'fresh']));

    act(() => online$.next(false));
    await waitFor(() => expect(activeStates(container)).toEqual(['#session', 'offline', 'offline.waiting']));
    expect(lastEdges(container)).toEqual(['fresh -> offline.waiting']);

    const html = container.innerHTML;
    for (const secret of [first.accessToken, second.accessToken, first.refreshToken!]) expectNoPieceOf(html, secret);
    const log = container.querySelector('[data-testid="event-log"]')!;
    expect(loggedTypes(container)).toEqual(
      expect.arrayContaining(['user.signIn', 'user.refresh', 'request.done', 'env.offline']),
    );
    expect(log.querySelector('[data-event-type="user.signIn"]')?.textContent).toContain('session sid-first');
    expect(log.querySelector('[data-event-type="env.offline"]')?.textContent).toMatch(/^offline, a token held, was fresh.*env\.offline → offline\.waiting/);
    // The request child's report of the answer, by the chart's name; nothing by XState's internal ids.
    expect(log.querySelector('[data-event-type="request.done"]')?.textContent).toMatch(/^request\.done(just now|\d+ s ago) → fresh · session sid-first$/);
    expect(log.textContent).not.toMatch(/xstate\.|\.actor\./);
  });
});

const doorMachine = createMachine({
  id: 'door',
  initial: 'closed',
  context: { opened: 0 },
  states: {
    closed: {
      initial: 'unlocked',
      states: {
        unlocked: { on: { LOCK: 'locked', OPEN: '#door.open' } },
        locked: { on: { UNLOCK: 'unlocked' } },
      },
    },
    open: {
      entry: assign({ opened: ({ context }) => context.opened + 1 }),
      on: { CLOSE: 'closing', KNOCK: {} },
    },
    closing: { always: 'closed' },
  },
});

describe('StatechartViewer with any machine', () => {
  it('draws and follows a machine that is not the session machine', async () => {
    const actor = createActor(doorMachine).start();
    const { container } = render(<StatechartViewer machine={doorMachine} actor={actor} />);
    await waitFor(() => expect(container.querySelector('svg')).not.toBeNull(), { timeout: 10_000 });

    expect(stateKeys(doorMachine)).toEqual(['closed', 'closed.unlocked', 'closed.locked', 'open', 'closing']);
    for (const key of stateKeys(doorMachine)) {
      expect(container.querySelector(`[data-state="${key}"]`), key).not.toBeNull();
    }
    const labels = [...container.querySelectorAll('[data-edge-label] tspan')].map((t) => t.textContent);
    expect(labels).toEqual(expect.arrayContaining(['LOCK', 'OPEN', 'CLOSE', 'always', 'UNLOCK', 'KNOCK']));
    expect(activeStates(container)).toEqual(['#door', 'closed', 'closed.unlocked']);

    act(() => actor.send({ type: 'LOCK' }));
    await waitFor(() => expect(activeStates(container)).toEqual(['#door', 'closed', 'closed.locked']));
    act(() => actor.send({ type: 'UNLOCK' }));
    act(() => actor.send({ type: 'OPEN' }));
    await waitFor(() => expect(activeStates(container)).toEqual(['#door', 'open']));
    expect(lastEdges(container)).toEqual(['closed.unlocked -> open']);

    // An event no state handles changes nothing: logged, highlight kept.
    act(() => actor.send({ type: 'RING' }));
    act(() => actor.send({ type: 'CLOSE' }));
    await waitFor(() => expect(activeStates(container)).toEqual(['#door', 'closed', 'closed.unlocked']));
    expect(lastEdges(container).sort()).toEqual(['closing -> closed', 'open -> closing']);
    expect(loggedTypes(container)).toEqual(['CLOSE', 'RING', 'OPEN', 'UNLOCK', 'LOCK']);
    expect(container.querySelector('[data-event-type="RING"]')?.textContent).toContain('→ open');
    actor.stop();
  });
});

describe('StatechartViewer with a recorder', () => {
  it('logs the actor from its start, folds identical steps and tells the time relative to now', async () => {
    const recorder = createActivityRecorder();
    const actor = createActor(doorMachine, { inspect: recorder.inspect }).start();
    actor.send({ type: 'LOCK' });
    const { container } = render(<StatechartViewer machine={doorMachine} actor={actor} recorder={recorder} />);
    await waitFor(() => expect(container.querySelector('svg')).not.toBeNull(), { timeout: 10_000 });
    expect(activeStates(container)).toEqual(['#door', 'closed', 'closed.locked']);

    act(() => ['RING', 'RING', 'RING'].forEach((type) => actor.send({ type })));
    await waitFor(() => expect(loggedTypes(container)).toEqual(['RING', 'LOCK', 'xstate.init']));
    const entries = [...container.querySelectorAll('[data-event-type]')].map((li) => li.textContent);
    expect(entries[0]).toMatch(/^RING ×3(just now|\d+ s ago) → closed\.locked$/);
    expect(entries[2]).toMatch(/^start(just now|\d+ s ago) → closed\.unlocked$/);
    actor.stop();
  });
});

describe('frameChart', () => {
  it('keeps labels readable and the active state in view in the follow and actual views; the whole view shows all', async () => {
    const layout = await layoutMachine(sessionMachine);
    const viewport = { width: 600, height: 560 };
    const active = new Set(['#session', 'offline', 'offline.waiting']);
    const waiting = layout.states.find((state) => state.key === 'offline.waiting')!;
    const isShown = (frame: ReturnType<typeof frameChart>, box: typeof waiting) =>
      (box.x + 4) * frame.scale >= frame.left &&
      (box.x + 4 + box.width) * frame.scale <= frame.left + viewport.width &&
      (box.y + 4) * frame.scale >= frame.top &&
      (box.y + 4 + box.height) * frame.scale <= frame.top + viewport.height;

    const follow = frameChart(layout, active, 'follow', viewport);
    expect(follow.scale * 13).toBeGreaterThanOrEqual(READABLE_LABEL_PX);
    expect(isShown(follow, waiting)).toBe(true);
    const actual = frameChart(layout, active, 'actual', viewport);
    expect(actual.scale).toBe(1);
    expect(isShown(actual, waiting)).toBe(true);
    const whole = frameChart(layout, active, 'whole', viewport);
    expect(layout.states.every((state) => isShown(whole, state))).toBe(true);
  });
});

const playerMachine = createMachine({
  id: 'player',
  type: 'parallel',
  states: {
    audio: {
      initial: 'on',
      states: { on: { on: { MUTE: 'off' } }, off: { on: { UNMUTE: 'on' } }, previous: { type: 'history' } },
    },
    video: {
      initial: 'loading',
      states: {
        loading: { invoke: { src: fromPromise(async () => 'ready'), onDone: 'playing', onError: 'failed' } },
        playing: { after: { 60_000: 'paused' }, on: { STOP: 'stopped', RESTORE: '#player.audio.previous' } },
        paused: { on: { PLAY: 'playing' } },
        failed: {},
        stopped: { type: 'final' },
      },
    },
  },
});

describe('StatechartViewer with parallel, history, final and invoked states', () => {
  it('draws them all and highlights every active region', async () => {
    const actor = createActor(playerMachine).start();
    const { container } = render(<StatechartViewer machine={playerMachine} actor={actor} />);
    await waitFor(() => expect(container.querySelector('svg')).not.toBeNull(), { timeout: 10_000 });

    for (const key of stateKeys(playerMachine)) {
      expect(container.querySelector(`[data-state="${key}"]`), key).not.toBeNull();
    }
    const labels = [...container.querySelectorAll('[data-edge-label] tspan')].map((t) => t.textContent);
    expect(labels).toEqual(expect.arrayContaining(['done(invoke)', 'error(invoke)', 'after 60000 ms', 'RESTORE']));
    expect(container.querySelector('[data-state="audio.previous"] text')?.textContent).toBe('H previous');

    await waitFor(() => expect(activeStates(container)).toEqual(['#player', 'audio', 'audio.on', 'video', 'video.playing']));
    expect(lastEdges(container)).toEqual(['video.loading -> video.playing']);
    act(() => actor.send({ type: 'MUTE' }));
    await waitFor(() => expect(activeStates(container)).toEqual(['#player', 'audio', 'audio.off', 'video', 'video.playing']));
    act(() => actor.send({ type: 'STOP' }));
    await waitFor(() => expect(activeStates(container)).toEqual(['#player', 'audio', 'audio.off', 'video', 'video.stopped']));
    actor.stop();
  });
});
