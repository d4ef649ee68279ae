import { fromTransition } from 'xstate';
import { isFresh, isServable, lifeMs } from '../../machines/tokenMath.js';
import type { SessionConfig } from '../../machines/types.js';
import {
  initialModel,
  stepModel,
  type ModelCommand,
  type RefreshOutcome,
  type ModelState,
  type TabMessageKind,
} from './sessionModel.js';

/** The session model's configuration, command alphabet, abstraction for the traversal, and actor logic. */

/** Token ages to sleep to: fresh, stale (inside the 15 s threshold), expired. */
const SLEEP_AGES_MS = [20_000, 50_000, 70_000] as const;

/** factor 1 and no jitter: every backoff is 20 s whatever the attempt, so attempts need not be modelled. */
export const modelConfig = (shareTabs = false, callersCutBackoff = false, keepsSession = shareTabs): SessionConfig => ({
  refreshThresholdMs: 15_000,
  leewayMs: 5_000,
  retry: { baseMs: 20_000, maxMs: 20_000, factor: 1, jitter: false },
  callersCutBackoff,
  refreshTimeoutMs: 30_000,
  shareTabs,
  keepsSession,
});

const OUTCOMES = ['same', 'other', 'repeat', 'garbage', 'network', 'retryAfter', 'badRetryAfter', 'auth'] as const;

const TAB_MESSAGES: readonly TabMessageKind[] = [
  'cleared',
  'token-same',
  'token-older',
  'token-other',
  'token-otherOlder',
  'signOut-this',
  'signOut-other',
  'rotate-this',
  'refreshToken-this',
  'hello',
];

/**
 * With a storage the model explores what a start finds, so it keeps to the commands that change what is kept:
 * the rest are explored without a storage, where they make the same transitions.
 */
const KEPT_SESSION_COMMANDS = new Set<ModelCommand['type']>([
  'signIn',
  'signOut',
  'rotate',
  'getToken',
  'restore',
  'signInRefreshToken',
  'reload',
  'storageRead',
  'refreshSettles',
  'timerFires',
  'sleep',
  'networkDown',
  'networkUp',
]);
const KEPT_SESSION_OUTCOMES = new Set<RefreshOutcome>(['same', 'network', 'retryAfter', 'auth']);

const CALLERS_CUT_SKIPPED = new Set(['restore', 'signInRefreshToken', 'clockBack', 'tabMessage:cleared']);
const describeKind = (command: ModelCommand) =>
  command.type === 'tabMessage' ? `tabMessage:${command.message}` : command.type;

/** The commands worth trying in a state (the others are no-ops or impossible there). */
export function commandsFor(model: ModelState): ModelCommand[] {
  // A start reads the storage first (microtasks): nothing else comes between. A storage that cannot be read is
  // the machine's to handle (a `readSession` of the app's own); the engine's reads never reject.
  if (model.machine.matches({ restoring: 'reading' })) {
    return model.config.shareTabs ? [{ type: 'storageRead' }, { type: 'storageUnreadable' }] : [{ type: 'storageRead' }];
  }
  const all = allCommandsFor(model);
  // Callers that cut the backoff short change what `getToken` does between attempts: the paths for them keep
  // to the commands that reach those states; restores, set-back clocks and cleared stores are explored above.
  if (model.config.callersCutBackoff) return all.filter((command) => !CALLERS_CUT_SKIPPED.has(describeKind(command)));
  if (!model.config.keepsSession || model.config.shareTabs) return all;
  return all.filter(
    (command) =>
      KEPT_SESSION_COMMANDS.has(command.type) &&
      (command.type !== 'refreshSettles' || KEPT_SESSION_OUTCOMES.has(command.outcome)) &&
      (command.type !== 'signIn' || command.life === 'normal'),
  ).concat(
    // Another tab's rotation reaches a restore in flight too.
    all.filter((command) => command.type === 'tabMessage' && command.message === 'rotate-this'),
  );
}

function allCommandsFor(model: ModelState): ModelCommand[] {
  const { machine, timer } = model;
  const { session, token, online } = machine.context;
  const commands: ModelCommand[] = [
    { type: 'signIn', session: 'other', life: 'normal' },
    { type: 'signIn', session: 'other', life: 'short' },
    { type: 'signOut' },
    { type: 'rotate' },
    { type: 'getToken' },
    { type: 'forceRefresh' },
    { type: 'read' },
    { type: 'resume' },
    { type: 'restore' },
    { type: 'signInRefreshToken' },
    online ? { type: 'networkDown' } : { type: 'networkUp' },
  ];
  if (model.config.keepsSession) commands.push({ type: 'reload' });
  if (session) commands.push({ type: 'signIn', session: 'same', life: 'normal' });
  if (token) {
    for (const age of SLEEP_AGES_MS) if (token.issuedAt + age > model.now) commands.push({ type: 'sleep', age });
  }
  if (timer) commands.push({ type: 'timerFires' });
  if (model.request) for (const outcome of OUTCOMES) commands.push({ type: 'refreshSettles', outcome });
  if (token) commands.push({ type: 'clockBack' });
  if (machine.matches('stale')) commands.push({ type: 'yieldTurn' });
  if (machine.matches({ restoring: 'askingTabs' })) commands.push({ type: 'otherTabsSilent' });
  for (const message of TAB_MESSAGES) commands.push({ type: 'tabMessage', message });
  return commands;
}

/**
 * The abstract state: everything the machine's guards and the engine's timers can tell apart, with times
 * relative to the model's clock (an expired token's age is capped at its life: later is no different).
 */
export function serializeModel(model: ModelState): string {
  const { machine, now, timer, request, stored } = model;
  const { session, token, online, endedAt, droppedToken, refreshToken } = machine.context;
  const life = token ? lifeMs(token) : null;
  return JSON.stringify({
    value: machine.value,
    online,
    session: session ? Math.min(now - session.startedAt, 1) : null,
    // A token's life and phase (fresh, stale, no longer servable): which of its ages the guards tell apart.
    token: token ? [life, isFresh(token, now, model.config) ? 'fresh' : isServable(token, now, model.config.leewayMs) ? 'stale' : 'out'] : null,
    dropped: droppedToken !== null,
    ended: endedAt === null ? null : Math.min(now - endedAt, 1),
    timer: timer ? [timer.kind, timer.at - now] : null,
    // Whether the request out is for the session held now, and sent the refresh token held now.
    request: request
      ? [request.request.session === session, request.request.refreshToken === refreshToken, machine.context.reason]
      : null,
    // What a reload would find: a token servable now or not, a refresh token.
    stored: stored && [stored.token && isServable(stored.token, now, model.config.leewayMs), stored.refreshToken !== undefined],
  });
}

/** The model as an actor logic, for `xstate/graph`. */
export function sessionModelLogic(config: SessionConfig) {
  return fromTransition(
    (model: ModelState, command: ModelCommand) => stepModel(model, command),
    () => initialModel(config),
  );
}

export const describeCommand = (command: ModelCommand): string => {
  const { type, ...args } = command;
  const detail = Object.values(args).join(' ');
  return detail ? `${type}(${detail})` : type;
};
