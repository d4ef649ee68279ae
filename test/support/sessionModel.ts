import {
  createActor,
  fromTransition,
  type AnyActorScope,
  type AnyStateNode,
  type AnyTransitionDefinition,
  type SnapshotFrom,
} from 'xstate';
import { sessionMachine } from '../../machines/sessionMachine.js';
import { T0 } from '../../src/testing/clock.js';
import { isServable, refreshDueAt, retryDelayMs } from '../../machines/tokenMath.js';
import type {
  RefreshInput,
  SessionConfig,
  SessionEvent,
  SessionInfo,
  SessionToken,
  StoredSession,
  VaultCommand,
} from '../../machines/types.js';
import { sessionOfAnswer } from '../../machines/tabRules.js';
import { shiftStored } from '../../src/engine/vault.js';
import { AuthError, InvalidTokenError, NetworkError } from '../../src/errors.js';

/**
 * A model of the engine's world over the real `sessionMachine`: commands a caller or the environment can
 * issue (sign in, getToken, a sleep, a refresh answer, a timer...), each turned into the machine events the
 * engine sends for it, with the model's own clock so time only moves forward (the engine's clock does too,
 * whatever the wall clock does). The machine runs unprovided: the model plays its request child (what it was
 * sent, its answer, its timeout) and the done events of its other invoked actors, as the runtime would.
 */

export type MachineSnapshot = SnapshotFrom<typeof sessionMachine>;

/** The test kit's start: whole seconds (as `iat` is), so the engine's claims-derived times equal the model's. */
export const MODEL_T0 = T0;
const LIFE_MS = 60_000;
/** Shorter than the leeway: never servable, so a sign-in with it refreshes at once. */
const SHORT_LIFE_MS = 4_000;
/** A refresh's answer: a token of this or another session, the held (or dropped) token again, or a failure. */
export type RefreshOutcome =
  | 'same'
  | 'other'
  | 'repeat'
  | 'garbage'
  | 'network'
  | 'retryAfter'
  | 'badRetryAfter'
  | 'auth';
/** What a `retryAfter` answer asks for: longer than the model's backoff, so the step's length shows it. */
export const MODEL_RETRY_AFTER_MS = 30_000;
/** How far `clockBack` sets the wall clock back. */
export const MODEL_CLOCK_BACK_MS = 600_000;
export type TabMessageKind =
  | 'token-same'
  | 'token-older'
  | 'token-other'
  | 'token-otherOlder'
  | 'signOut-this'
  | 'signOut-other'
  | 'rotate-this'
  /** A refresh token of this session, without an access token (an answer a rotation withdrew in another tab). */
  | 'refreshToken-this'
  | 'hello'
  /** Back from the back-forward cache, the store holds no session: ended in another tab. */
  | 'cleared';

export type ModelCommand =
  | { type: 'signIn'; session: 'same' | 'other'; life: 'normal' | 'short' }
  | { type: 'signOut' }
  | { type: 'rotate' }
  | { type: 'getToken' }
  | { type: 'forceRefresh' }
  | { type: 'read' }
  | { type: 'sleep'; age: number }
  /** The wall clock is set back: the engine's clock, and so the model's, does not move. */
  | { type: 'clockBack' }
  | { type: 'networkDown' }
  | { type: 'networkUp' }
  | { type: 'resume' }
  | { type: 'timerFires' }
  | { type: 'refreshSettles'; outcome: RefreshOutcome }
  /** Microtasks run: the stale state's `awaitRefreshTurn` resolves. */
  | { type: 'yieldTurn' }
  | { type: 'tabMessage'; message: TabMessageKind }
  /** A sharing tab heard nothing from the others (restoring's `awaitOtherTabs` resolves). */
  | { type: 'otherTabsSilent' }
  /** An engine that keeps its session finished reading its storage (as it starts), or could not read it. */
  | { type: 'storageRead' }
  | { type: 'storageUnreadable' }
  /** The page reloads (the process restarts): a new engine on the same storage. */
  | { type: 'reload' }
  /** `restore()`: with no session held, one refresh asks the server for one (a cookie session). */
  | { type: 'restore' }
  /** `signIn({ refreshToken })`: a new session from one refresh. */
  | { type: 'signInRefreshToken' };

export interface ModelTimer {
  kind: 'refresh' | 'retry' | 'timeout';
  /** Local ms at which the engine's timer fires: a sleep pushes it back (timers do not run while asleep). */
  at: number;
}

/** What the replay needs to reproduce a command on a real engine. */
export type ModelEffect =
  | { kind: 'none' }
  | { kind: 'token'; token: SessionToken }
  | { kind: 'error'; code: 'network' | 'auth' | 'invalid_token'; retryAfterMs?: number }
  | { kind: 'tabEvent'; event: SessionEvent };

/** The request the machine's child would have out: what it was sent with, and when it times out. */
export interface ModelRequest {
  readonly request: RefreshInput;
  /** When it was sent: its answer's life counts from then. */
  readonly sentAt: number;
  readonly timeoutAt: number;
}

export interface ModelState {
  readonly config: SessionConfig;
  readonly machine: MachineSnapshot;
  /** Engine time: never goes back. */
  readonly now: number;
  /** How far the wall clock has been set back in all: wall time is `now - setBackMs`. */
  readonly setBackMs: number;
  readonly timer: ModelTimer | null;
  readonly request: ModelRequest | null;
  /** What the engine keeps between starts (its storage), when it keeps anything. */
  readonly stored: StoredSession | null;
  readonly keys: number;
  readonly tokens: number;
  readonly effect: ModelEffect;
  /** Machine transitions the last command took, and every snapshot it passed through (transient ones too). */
  readonly taken: readonly AnyTransitionDefinition[];
  readonly visited: readonly MachineSnapshot[];
}

// An unprovided machine run outside an actor: the inspection of its system reports each microstep, and the
// action executor what the machine tells its request child.
type RequestCommand = { type: 'request.send'; request: RefreshInput; now: number } | { type: 'request.abort' };
type Told = { to: 'request'; event: RequestCommand } | { to: 'vault'; event: VaultCommand };
let capture: {
  transitions: AnyTransitionDefinition[];
  snapshots: MachineSnapshot[];
  told: Told[];
} | null = null;
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
  actionExecutor: (action: { type: string; params?: { targetId?: string; event?: unknown } }) => {
    const to = action.params?.targetId;
    if (capture && action.type === 'xstate.sendTo' && (to === 'request' || to === 'vault')) {
      capture.told.push({ to, event: action.params!.event } as Told);
    }
  },
} as unknown as AnyActorScope;

function captured<T>(run: () => T) {
  const record: NonNullable<typeof capture> = { transitions: [], snapshots: [], told: [] };
  capture = record;
  try {
    return { result: run(), ...record };
  } finally {
    capture = null;
  }
}

/** The id the machine gives an invoke without an explicit one (`stale`'s awaitRefreshTurn, `restoring`'s wait). */
function invokeIdOf(...path: string[]): string {
  const node = path.reduce<AnyStateNode | undefined>((at, key) => at?.states[key], sessionMachine.root);
  const id = node?.invoke[0]?.id;
  if (!id) throw new Error(`the machine's ${path.join('.')} state invokes nothing`);
  return id;
}

export function initialModel(config: SessionConfig): ModelState {
  const { result, transitions, snapshots } = captured(() => sessionMachine.getInitialSnapshot(modelScope, { config }));
  return {
    config,
    machine: result,
    now: MODEL_T0,
    setBackMs: 0,
    timer: null,
    request: null,
    stored: null,
    keys: 0,
    tokens: 0,
    effect: { kind: 'none' },
    taken: transitions,
    visited: [...snapshots, result],
  };
}

/** The id XState gives `restoring.reading`'s invoke of `readSession`. */
const READ_SESSION_ID = invokeIdOf('restoring', 'reading');

const timerChild = (snapshot: MachineSnapshot) => {
  for (const child of Object.values(snapshot.children)) {
    if (child?.src === 'waitForRefresh') return { ref: child, kind: 'refresh' as const };
    if (child?.src === 'waitForRetry') return { ref: child, kind: 'retry' as const };
  }
  return null;
};

/**
 * The engine's next timer after a command: the request's timeout while one is out (no other timer runs then),
 * else the machine's timer, kept when its actor survived, armed anew when the machine invoked one.
 */
function timerAfter(before: ModelState, machine: MachineSnapshot, request: ModelRequest | null, now: number): ModelTimer | null {
  if (request) return { kind: 'timeout', at: request.timeoutAt };
  const child = timerChild(machine);
  if (!child) return null;
  if (before.timer?.kind === child.kind && timerChild(before.machine)?.ref === child.ref) return before.timer;
  const { config } = before;
  const { token, attempt, retryAfterMs } = machine.context;
  if (child.kind === 'refresh') return { kind: 'refresh', at: refreshDueAt(token!, config) };
  return { kind: 'retry', at: now + retryDelayMs(attempt, config.retry, retryAfterMs, () => 1) };
}

export const isFetching = (machine: MachineSnapshot) => machine.hasTag('fetching');

/** One command in the making: the machine events it sends, and the keys, tokens and effect it makes up. */
class Step {
  machine: MachineSnapshot;
  now: number;
  setBackMs: number;
  timer: ModelTimer | null;
  request: ModelRequest | null;
  stored: StoredSession | null;
  keys: number;
  tokens: number;
  effect: ModelEffect = { kind: 'none' };

  constructor(readonly model: ModelState) {
    ({
      machine: this.machine,
      now: this.now,
      setBackMs: this.setBackMs,
      timer: this.timer,
      request: this.request,
      stored: this.stored,
      keys: this.keys,
      tokens: this.tokens,
    } = model);
  }

  get session() {
    return this.machine.context.session;
  }

  send(event: SessionEvent | { type: string; [key: string]: unknown }): void {
    const before = capture!.told.length;
    this.machine = sessionMachine.transition(this.machine, event as SessionEvent, modelScope);
    // What the request child and the vault do with what they were told: at most one request out, aborted by a
    // sign-out; the session kept, or forgotten. (What the child is told of other tabs matters under a lock only.)
    for (const { to, event: command } of capture!.told.slice(before)) {
      if (to === 'vault') this.stored = command.type === 'vault.save' ? command.stored : null;
      else if (command.type === 'request.abort') this.request = null;
      else if (command.type === 'request.send' && !this.request) {
        const { request, now } = command;
        this.request = { request, sentAt: now, timeoutAt: now + this.model.config.refreshTimeoutMs };
      }
    }
  }

  /** The request child reports its request's end; it is idle again before the machine hears of it. */
  report(event: (request: RefreshInput) => SessionEvent): void {
    const { request } = this.request!;
    this.request = null;
    const reported = event(request);
    // An answer is kept (written) before the machine hears of it.
    if (reported.type === 'request.done' && this.model.config.keepsSession) {
      const { token, session } = reported;
      const refreshToken = token.refreshToken ?? request.refreshToken;
      this.stored = { session, token: { ...token, sessionKey: session.sessionKey }, ...(refreshToken ? { refreshToken } : {}) };
    }
    this.send(reported);
  }

  /**
   * A reload: a new engine (a new machine) on the same storage, its clock the wall clock again (the engine's
   * counted the set-backs it saw; a new one has seen none). The old engine's request and timers are gone.
   */
  restart(): void {
    const { setBackMs, stored } = this;
    const { online } = this.machine.context;
    this.machine = sessionMachine.getInitialSnapshot(modelScope, { config: this.model.config, online });
    this.request = null;
    this.timer = null;
    this.now -= setBackMs;
    this.stored = stored && shiftStored(stored, -setBackMs);
    this.setBackMs = 0;
  }

  /** The engine reads its storage as it starts (microtasks): `restoring.reading` ends with what it holds. */
  readStorage(): void {
    this.send({ type: `xstate.done.actor.${READ_SESSION_ID}`, output: { stored: this.stored, now: this.now } });
  }

  /** What the runtime does on its own once microtasks run: `stale`'s awaitRefreshTurn resolves. */
  yieldTurnIfStale(): void {
    if (this.machine.matches('stale')) this.send({ type: `xstate.done.actor.${invokeIdOf('stale')}`, output: this.now });
  }

  newKey(): string {
    return `s${(this.keys += 1)}`;
  }

  /** A token whose life counts from `at`; `serverOffsetMs`: the server clock minus the engine's, as measured. */
  newToken(at: number, life: number, sessionKey: string, serverOffsetMs = 0): SessionToken {
    const n = (this.tokens += 1);
    return {
      accessToken: `model-token-${n}`,
      refreshToken: `model-refresh-${n}`,
      expiresAt: at + life,
      issuedAt: at,
      serverOffsetMs,
      sessionKey,
      userId: 'user-1',
    };
  }
}

/** A JWT's times are whole seconds. */
const wholeSeconds = (ms: number) => Math.floor(ms / 1000) * 1000;

type Handlers = { [T in ModelCommand['type']]: (step: Step, command: Extract<ModelCommand, { type: T }>) => void };

const handlers: Handlers = {
  signIn(step, { session, life }) {
    const key = session === 'same' && step.session ? step.session.sessionKey : step.newKey();
    // Minted now (iat in whole seconds), judged by its exp with the server offset measured from this engine's
    // refreshes (parseSignIn); an offset below zero would make the iat a future one, which sets it to zero.
    const offset = Math.max(step.machine.context.token?.serverOffsetMs ?? 0, 0);
    const lifeStartsAt = wholeSeconds(step.now) - offset;
    const minted = step.newToken(lifeStartsAt, life === 'normal' ? LIFE_MS : SHORT_LIFE_MS, key, offset);
    // Ordered by its receipt, its life counted from the iat.
    const issuedAt = Math.max(lifeStartsAt, Math.min(step.now, minted.expiresAt - 1));
    const token = issuedAt > lifeStartsAt ? { ...minted, issuedAt, lifeStartsAt } : minted;
    step.effect = { kind: 'token', token };
    step.send({ type: 'user.signIn', token, now: step.now });
  },
  signOut: (step) => step.send({ type: 'user.signOut', now: step.now }),
  rotate: (step) => step.send({ type: 'user.rotate', now: step.now }),
  // getSnapshot() is a pure read: the machine hears nothing of it.
  read: () => {},
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
    // Timers are durations: they do not run while the device sleeps.
    const wakeAt = step.machine.context.token!.issuedAt + age;
    const slept = wakeAt - step.now;
    if (step.timer) step.timer = { ...step.timer, at: step.timer.at + slept };
    if (step.request) step.request = { ...step.request, timeoutAt: step.request.timeoutAt + slept };
    step.now = wakeAt;
  },
  clockBack(step) {
    step.setBackMs += MODEL_CLOCK_BACK_MS;
  },
  networkDown: (step) => step.send({ type: 'env.offline' }),
  networkUp: (step) => step.send({ type: 'env.online', now: step.now }),
  resume: (step) => step.send({ type: 'env.wake', now: step.now }),
  timerFires(step) {
    const { kind, at } = step.timer!;
    step.now = at;
    if (kind === 'timeout') {
      const error = new NetworkError('The refresh did not answer in time');
      step.report((request) => ({ type: 'request.failed', error, request, now: at }));
    } else {
      step.send({ type: kind === 'refresh' ? 'timer.refreshDue' : 'timer.retryDue', now: at });
    }
    step.yieldTurnIfStale();
  },
  refreshSettles(step, { outcome }) {
    const { request: sent, sentAt } = step.request!;
    const sentFor = sent.session;
    if (outcome === 'same' || outcome === 'other' || outcome === 'repeat') {
      const { token: held, droppedToken } = step.machine.context;
      const repeated = held ?? droppedToken;
      const token =
        outcome === 'repeat' && repeated
          ? { ...repeated, sessionKey: repeated.sessionKey ?? sentFor!.sessionKey }
          : // Minted on arrival, its life counted from the send: the server's clock seems ahead by the wait.
            step.newToken(sentAt, LIFE_MS, outcome === 'other' || !sentFor ? step.newKey() : sentFor.sessionKey, wholeSeconds(step.now) - sentAt);
      step.effect = { kind: 'token', token };
      step.report((request) => ({ type: 'request.done', token, session: sessionOfAnswer(request, token, step.now), request, now: step.now }));
    } else {
      const { code, error } = failureOf(outcome);
      const retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
      step.effect = { kind: 'error', code, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
      step.report((request) => ({ type: 'request.failed', error, request, now: step.now }));
    }
    step.yieldTurnIfStale();
  },
  yieldTurn: (step) => step.yieldTurnIfStale(),
  storageRead: (step) => step.readStorage(),
  storageUnreadable: (step) => step.send({ type: `xstate.error.actor.${READ_SESSION_ID}`, error: new Error('unreadable') }),
  reload: (step) => step.restart(),
  restore(step) {
    // With a session held, restore() is getToken().
    if (step.session) return handlers.getToken(step, { type: 'getToken' });
    step.send({ type: 'user.restore', now: step.now });
  },
  signInRefreshToken(step) {
    step.send({ type: 'user.restore', refreshToken: `model-refresh-signin-${(step.tokens += 1)}`, now: step.now });
  },
  otherTabsSilent: (step) => step.send({ type: `xstate.done.actor.${invokeIdOf('restoring', 'askingTabs')}` }),
  tabMessage(step, { message }) {
    const event = tabEvent(step, message);
    step.effect = { kind: 'tabEvent', event };
    step.send(event);
  },
};

function failureOf(outcome: Exclude<RefreshOutcome, 'same' | 'other' | 'repeat'>) {
  switch (outcome) {
    case 'auth':
      return { code: 'auth' as const, error: new AuthError() };
    case 'garbage':
      return { code: 'invalid_token' as const, error: new InvalidTokenError() };
    case 'retryAfter':
      return { code: 'network' as const, error: new NetworkError(undefined, { retryAfterMs: MODEL_RETRY_AFTER_MS }) };
    case 'badRetryAfter':
      return { code: 'network' as const, error: new NetworkError(undefined, { retryAfterMs: Number.NaN }) };
    case 'network':
      return { code: 'network' as const, error: new NetworkError() };
  }
}

/** What another tab's `syncTabs` would relay: tokens newer or older than ours, of this or another session. */
function tabEvent(step: Step, kind: TabMessageKind): SessionEvent {
  const { session: current, now } = step;
  const ours = current?.sessionKey ?? 'nobody';
  switch (kind) {
    case 'token-same': {
      const key = current?.sessionKey ?? step.newKey();
      // Another tab's message is a copy: never the very object this tab holds.
      const session: SessionInfo = current ? { ...current } : { sessionKey: key, userId: 'user-1', startedAt: now };
      // Minted by the other tab after anything this tab did (a rotation included): a millisecond later.
      return { type: 'tab.token', token: step.newToken(now + 1, LIFE_MS, key), session, now };
    }
    case 'token-older': {
      if (!current) return tabEvent(step, 'token-otherOlder');
      // Issued before the token held (or, in `rotated`, before the rotation): never to be adopted.
      const { droppedToken, token } = step.machine.context;
      const at = ((token ?? droppedToken)?.issuedAt ?? now) - 1_000;
      return { type: 'tab.token', token: step.newToken(at, LIFE_MS, current.sessionKey), session: { ...current }, now };
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
    case 'refreshToken-this': {
      if (!current) return tabEvent(step, 'token-otherOlder');
      // Received by the other tab after anything this tab did: a millisecond later.
      return { type: 'tab.refreshToken', session: { ...current }, refreshToken: `told-${now}`, at: now + 1 };
    }
    case 'hello':
      return { type: 'tab.hello', now };
    case 'cleared':
      return { type: 'tab.cleared', now };
  }
}

/** Applies one command to the model; pure apart from the inspection capture. */
export function stepModel(model: ModelState, command: ModelCommand): ModelState {
  const step = new Step(model);
  const { transitions, snapshots } = captured(() =>
    (handlers[command.type] as (step: Step, command: ModelCommand) => void)(step, command),
  );
  const { machine, now, setBackMs, request, stored, keys, tokens, effect } = step;
  const timer =
    command.type === 'sleep' ? step.timer : timerAfter(command.type === 'reload' ? { ...model, timer: null } : model, machine, request, now);
  return {
    config: model.config,
    machine,
    now,
    setBackMs,
    timer,
    request,
    stored,
    keys,
    tokens,
    effect,
    taken: transitions,
    visited: snapshots,
  };
}
