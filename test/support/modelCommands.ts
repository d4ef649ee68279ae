import { fromTransition } from 'xstate';
import type { SessionConfig } from '../../machines/types.js';
import {
  initialModel,
  stepModel,
  type ModelCommand,
  type ModelState,
  type TabMessageKind,
} from './sessionModel.js';

/** The session model's configuration, command alphabet, abstraction for the traversal, and actor logic. */

/** Token ages to sleep to: fresh, stale (inside the 15 s threshold), expired. */
const SLEEP_AGES_MS = [20_000, 50_000, 70_000] as const;

/** factor 1 and no jitter: every backoff is 20 s whatever the attempt, so attempts need not be modelled. */
export const modelConfig = (shareTabs = false, callersCutBackoff = false): SessionConfig => ({
  refreshThresholdMs: 15_000,
  leewayMs: 5_000,
  retry: { baseMs: 20_000, maxMs: 20_000, factor: 1, jitter: false },
  callersCutBackoff,
  refreshTimeoutMs: 30_000,
  shareTabs,
});

const OUTCOMES = ['same', 'other', 'repeat', 'garbage', 'network', 'retryAfter', 'badRetryAfter', 'auth'] as const;

const TAB_MESSAGES: readonly TabMessageKind[] = [
  'token-same',
  'token-older',
  'token-other',
  'token-otherOlder',
  'signOut-this',
  'signOut-other',
  'rotate-this',
  'hello',
];

/** The commands worth trying in a state (the others are no-ops or impossible there). */
export function commandsFor(model: ModelState): ModelCommand[] {
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
    online ? { type: 'networkDown' } : { type: 'networkUp' },
  ];
  if (session) commands.push({ type: 'signIn', session: 'same', life: 'normal' });
  if (token) {
    for (const age of SLEEP_AGES_MS) if (token.issuedAt + age > model.now) commands.push({ type: 'sleep', age });
  }
  if (timer) commands.push({ type: 'timerFires' });
  if (model.request) for (const outcome of OUTCOMES) commands.push({ type: 'refreshSettles', outcome });
  if (token) commands.push({ type: 'clockBack' });
  if (machine.matches('stale')) commands.push({ type: 'yieldTurn' });
  if (machine.matches('restoring')) commands.push({ type: 'otherTabsSilent' });
  for (const message of TAB_MESSAGES) commands.push({ type: 'tabMessage', message });
  return commands;
}

/**
 * The abstract state: everything the machine's guards and the engine's timers can tell apart, with times
 * relative to the model's clock (an expired token's age is capped at its life: later is no different).
 */
export function serializeModel(model: ModelState): string {
  const { machine, now, timer, request } = model;
  const { session, token, online, endedAt, droppedToken, refreshToken } = machine.context;
  const life = token ? token.expiresAt - token.issuedAt : null;
  return JSON.stringify({
    value: machine.value,
    online,
    session: session ? Math.min(now - session.startedAt, 1) : null,
    token: token ? [life, Math.min(now - token.issuedAt, life!)] : null,
    dropped: droppedToken !== null,
    ended: endedAt === null ? null : Math.min(now - endedAt, 1),
    timer: timer ? [timer.kind, timer.at - now] : null,
    // Whether the request out is for the session held now, and sent the refresh token held now.
    request: request
      ? [request.request.session === session, request.request.refreshToken === refreshToken, machine.context.reason]
      : null,
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
