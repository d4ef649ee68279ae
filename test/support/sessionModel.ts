import {
  createActor,
  fromTransition,
  type AnyActorScope,
  type AnyTransitionDefinition,
  type SnapshotFrom,
} from 'xstate';
import { sessionMachine } from '../../machines/sessionMachine.js';
import { isServable, refreshDueAt, retryDelayMs } from '../../machines/tokenMath.js';
import type { SessionConfig, SessionEvent, SessionInfo, SessionToken } from '../../machines/types.js';
import { AuthError, InvalidTokenError, NetworkError } from '../../src/errors.js';

/**
 * A model of the engine's world over the real `sessionMachine`: commands a caller or the environment can
 * issue (sign in, getToken, a sleep, a refresh answer, a timer...), each turned into the machine events the
 * engine sends for it, with the model's own clock so time only moves forward. The machine runs unprovided:
 * the done/error events of its invoked actors are sent by the model, as the runtime would.
 */

export type MachineSnapshot = SnapshotFrom<typeof sessionMachine>;

/** Whole seconds (as `iat` is), so the engine's claims-derived times equal the model's. */
export const MODEL_T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const LIFE_MS = 60_000;
/** Shorter than the leeway: never servable, so a sign-in with it refreshes at once. */
const SHORT_LIFE_MS = 4_000;
export type RefreshOutcome = 'same' | 'other' | 'garbage' | 'network' | 'auth';
export type TabMessageKind =
  | 'token-same'
  | 'token-older'
  | 'token-other'
  | 'token-otherOlder'
  | 'signOut-this'
  | 'signOut-other'
  | 'rotate-this'
  | 'hello';

export type ModelCommand =
  | { type: 'signIn'; session: 'same' | 'other'; life: 'normal' | 'short' }
  | { type: 'signOut' }
  | { type: 'rotate' }
  | { type: 'getToken' }
  | { type: 'forceRefresh' }
  | { type: 'read' }
  | { type: 'sleep'; age: number }
  | { type: 'networkDown' }
  | { type: 'networkUp' }
  | { type: 'resume' }
  | { type: 'timerFires' }
  | { type: 'refreshSettles'; outcome: RefreshOutcome }
  /** Microtasks run: the stale state's `awaitRefreshTurn` resolves. */
  | { type: 'yieldTurn' }
  | { type: 'tabMessage'; message: TabMessageKind }
  /** A sharing tab heard nothing from the others (restoring's `awaitOtherTabs` resolves). */
  | { type: 'otherTabsSilent' };

export interface ModelTimer {
  kind: 'refresh' | 'retry';
  /** Local ms at which the engine's timer fires: a sleep pushes it back (timers do not run while asleep). */
  at: number;
}

/** What the replay needs to reproduce a command on a real engine. */
export type ModelEffect =
  | { kind: 'none' }
  | { kind: 'token'; token: SessionToken }
  | { kind: 'error'; code: 'network' | 'auth' | 'invalid_token' }
  | { kind: 'tabEvent'; event: SessionEvent };

export interface ModelState {
  readonly config: SessionConfig;
  readonly machine: MachineSnapshot;
  readonly now: number;
  readonly timer: ModelTimer | null;
  readonly keys: number;
  readonly tokens: number;
  readonly effect: ModelEffect;
  /** Machine transitions the last command took, and every snapshot it passed through (transient ones too). */
  readonly taken: readonly AnyTransitionDefinition[];
  readonly visited: readonly MachineSnapshot[];
}

// An unprovided machine run outside an actor: the inspection of its system reports each microstep.
let capture: { transitions: AnyTransitionDefinition[]; snapshots: MachineSnapshot[] } | null = null;
const observer = createActor(
  fromTransition((nothing: null) => nothing, null),
  {
    inspect: (event) => {
      if (event.type !== '@xstate.microstep' || !capture) return;
      capture.transitions.push(...(event as unknown as { _transitions: AnyTransitionDefinition[] })._transitions);
      capture.snapshots.push(event.snapshot as MachineSnapshot);
    },
  },
);
const modelScope = {
  self: observer,
  logger: () => {},
  id: '',
  sessionId: 'model',
  defer: () => {},
  system: observer.system,
  stopChild: () => {},
  emit: () => {},
  actionExecutor: () => {},
} as unknown as AnyActorScope;

function captured<T>(run: () => T) {
  const record: NonNullable<typeof capture> = { transitions: [], snapshots: [] };
  capture = record;
  try {
    return { result: run(), ...record };
  } finally {
    capture = null;
  }
}

/** The id the machine gives an invoke without an explicit one (`stale`'s awaitRefreshTurn, `restoring`'s wait). */
function invokeIdOf(stateKey: 'stale' | 'restoring'): string {
  const id = sessionMachine.root.states[stateKey]?.invoke[0]?.id;
  if (!id) throw new Error(`the machine's ${stateKey} state invokes nothing`);
  return id;
}

export function initialModel(config: SessionConfig): ModelState {
  const { result, transitions, snapshots } = captured(() => sessionMachine.getInitialSnapshot(modelScope, { config }));
  return {
    config,
    machine: result,
    now: MODEL_T0,
    timer: null,
    keys: 0,
    tokens: 0,
    effect: { kind: 'none' },
    taken: transitions,
    visited: [...snapshots, result],
  };
}

const timerChild = (snapshot: MachineSnapshot) => {
  for (const child of Object.values(snapshot.children)) {
    if (child?.src === 'waitForRefresh') return { ref: child, kind: 'refresh' as const };
    if (child?.src === 'waitForRetry') return { ref: child, kind: 'retry' as const };
  }
  return null;
};

/** The engine's timer after a command: kept when its actor survived, armed anew when the machine invoked one. */
function timerAfter(before: ModelState, machine: MachineSnapshot, now: number): ModelTimer | null {
  const child = timerChild(machine);
  if (!child) return null;
  if (before.timer && timerChild(before.machine)?.ref === child.ref) return before.timer;
  const { config } = before;
  const { token, attempt, retryAfterMs } = machine.context;
  if (child.kind === 'refresh') return { kind: 'refresh', at: refreshDueAt(token!, config) };
  return { kind: 'retry', at: now + retryDelayMs(attempt, config.retry, retryAfterMs, () => 1) };
}

export const isFetching = (machine: MachineSnapshot) =>
  Object.values(machine.children).some((child) => child?.src === 'refreshToken');

/** One command in the making: the machine events it sends, and the keys, tokens and effect it makes up. */
class Step {
  machine: MachineSnapshot;
  now: number;
  timer: ModelTimer | null;
  keys: number;
  tokens: number;
  effect: ModelEffect = { kind: 'none' };

  constructor(readonly model: ModelState) {
    ({ machine: this.machine, now: this.now, timer: this.timer, keys: this.keys, tokens: this.tokens } = model);
  }

  get session() {
    return this.machine.context.session;
  }

  send(event: SessionEvent | { type: string; [key: string]: unknown }): void {
    this.machine = sessionMachine.transition(this.machine, event as SessionEvent, modelScope);
  }

  /** What the runtime does on its own once microtasks run: `stale`'s awaitRefreshTurn resolves. */
  yieldTurnIfStale(): void {
    if (this.machine.matches('stale')) this.send({ type: `xstate.done.actor.${invokeIdOf('stale')}` });
  }

  newKey(): string {
    return `s${(this.keys += 1)}`;
  }

  newToken(at: number, life: number, sessionKey: string): SessionToken {
    const accessToken = `model-token-${(this.tokens += 1)}`;
    return { accessToken, expiresAt: at + life, issuedAt: at, serverOffsetMs: 0, sessionKey, userId: 'user-1' };
  }
}

type Handlers = { [T in ModelCommand['type']]: (step: Step, command: Extract<ModelCommand, { type: T }>) => void };

const handlers: Handlers = {
  signIn(step, { session, life }) {
    const key = session === 'same' && step.session ? step.session.sessionKey : step.newKey();
    const token = step.newToken(step.now, life === 'normal' ? LIFE_MS : SHORT_LIFE_MS, key);
    step.effect = { kind: 'token', token };
    step.send({ type: 'user.signIn', token, now: step.now });
  },
  signOut: (step) => step.send({ type: 'user.signOut', now: step.now }),
  rotate: (step) => step.send({ type: 'user.rotate', now: step.now }),
  read: (step) => step.send({ type: 'clock.check', now: step.now }),
  getToken(step) {
    // What engine.getToken sends: a clock check, then a request unless a fresh token answers it.
    step.send({ type: 'clock.check', now: step.now });
    if (step.machine.matches('signedOut')) return;
    const held = isServable(step.machine.context.token, step.now, step.model.config.leewayMs);
    if (!held || step.machine.matches('stale')) step.send({ type: 'user.request', now: step.now });
  },
  forceRefresh(step) {
    step.send({ type: 'clock.check', now: step.now });
    step.send({ type: 'user.refresh', now: step.now });
  },
  sleep(step, { age }) {
    const wakeAt = step.machine.context.token!.issuedAt + age;
    if (step.timer) step.timer = { ...step.timer, at: step.timer.at + (wakeAt - step.now) };
    step.now = wakeAt;
  },
  networkDown: (step) => step.send({ type: 'env.offline' }),
  networkUp: (step) => step.send({ type: 'env.online', now: step.now }),
  resume: (step) => step.send({ type: 'env.wake', now: step.now }),
  timerFires(step) {
    const { kind, at } = step.timer!;
    step.now = at;
    step.send({ type: kind === 'refresh' ? 'timer.refreshDue' : 'timer.retryDue', now: at });
    step.yieldTurnIfStale();
  },
  refreshSettles(step, { outcome }) {
    if (outcome === 'same' || outcome === 'other') {
      const key = outcome === 'same' ? step.session!.sessionKey : step.newKey();
      const token = step.newToken(step.now, LIFE_MS, key);
      step.effect = { kind: 'token', token };
      step.send({ type: 'xstate.done.actor.refreshToken', output: token });
    } else {
      const code = outcome === 'garbage' ? 'invalid_token' : outcome;
      const error =
        code === 'auth' ? new AuthError() : code === 'network' ? new NetworkError() : new InvalidTokenError();
      step.effect = { kind: 'error', code };
      step.send({ type: 'xstate.error.actor.refreshToken', error });
    }
    step.yieldTurnIfStale();
  },
  yieldTurn: (step) => step.yieldTurnIfStale(),
  otherTabsSilent: (step) => step.send({ type: `xstate.done.actor.${invokeIdOf('restoring')}` }),
  tabMessage(step, { message }) {
    const event = tabEvent(step, message);
    step.effect = { kind: 'tabEvent', event };
    step.send(event);
  },
};

/** What another tab's `syncTabs` would relay: tokens newer or older than ours, of this or another session. */
function tabEvent(step: Step, kind: TabMessageKind): SessionEvent {
  const { session: current, now } = step;
  const ours = current?.sessionKey ?? 'nobody';
  switch (kind) {
    case 'token-same': {
      const key = current?.sessionKey ?? step.newKey();
      const session: SessionInfo = current ?? { sessionKey: key, userId: 'user-1', startedAt: now };
      // Minted by the other tab after anything this tab did (a rotation included): a millisecond later.
      return { type: 'tab.token', token: step.newToken(now + 1, LIFE_MS, key), session, now };
    }
    case 'token-older': {
      if (!current) return tabEvent(step, 'token-otherOlder');
      // Issued before the token held (or, in `rotated`, before the rotation): never to be adopted.
      const { rotatedAt, token } = step.machine.context;
      const at = (rotatedAt ?? token?.issuedAt ?? now) - 1_000;
      return { type: 'tab.token', token: step.newToken(at, LIFE_MS, current.sessionKey), session: current, now };
    }
    case 'token-other':
    case 'token-otherOlder': {
      const key = step.newKey();
      const startedAt = kind === 'token-other' ? now : MODEL_T0 - 3_600_000;
      const session: SessionInfo = { sessionKey: key, userId: 'user-2', startedAt };
      return { type: 'tab.token', token: step.newToken(now, LIFE_MS, key), session, now };
    }
    case 'signOut-this':
      return { type: 'tab.signOut', sessionKey: ours, at: now };
    case 'signOut-other':
      return { type: 'tab.signOut', sessionKey: `${ours}-elsewhere`, at: now };
    case 'rotate-this':
      return { type: 'tab.rotate', sessionKey: ours, at: now };
    case 'hello':
      return { type: 'tab.hello', now };
  }
}

/** Applies one command to the model; pure apart from the inspection capture. */
export function stepModel(model: ModelState, command: ModelCommand): ModelState {
  const step = new Step(model);
  const { transitions, snapshots } = captured(() =>
    (handlers[command.type] as (step: Step, command: ModelCommand) => void)(step, command),
  );
  const { machine, now, keys, tokens, effect } = step;
  const timer = command.type === 'sleep' ? step.timer : timerAfter(model, machine, now);
  return { config: model.config, machine, now, timer, keys, tokens, effect, taken: transitions, visited: snapshots };
}
