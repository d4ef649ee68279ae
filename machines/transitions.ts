import type { RefreshReason, SessionContext } from './types.js';

/**
 * Transitions and states the session machine uses in more than one place: starting an attempt, a failed one,
 * and waiting out a backoff step. Plain config objects, so the machine file reads as the chart.
 */

const retryTimer = {
  src: 'waitForRetry',
  input: ({ context }: { context: SessionContext }) => ({
    attempt: context.attempt,
    retry: context.config.retry,
    retryAfterMs: context.retryAfterMs,
  }),
} as const;

/** Actions a signal's transition adds to the attempt it starts. */
type SignalAction = 'markOnline';

/** Starts a refresh: the request child is idle whenever a state takes one of these transitions. */
export const refreshFor = (reason: RefreshReason, actions: readonly SignalAction[] = []) => ({
  target: '#session.refreshing',
  actions: [{ type: 'setReason', params: { reason } } as const, ...actions, 'sendRequest' as const],
});

/** A failed attempt: an AuthError ends the session, anything else backs off (firmly, see `isFirmWait`). */
export const failureTo = (backingOff: string) => [
  { guard: 'isAuthFailure', target: '#session.signedOut', actions: ['announceSignOut', 'endSession', 'forgetSession'] },
  { guard: 'isFirmWait', target: `${backingOff}.firm`, actions: ['recordFailure', 'saveRefreshToken'] },
  { target: `${backingOff}.open`, actions: ['recordFailure', 'saveRefreshToken'] },
] as const;

/** The next attempt of a session that holds a token: none while the token is still fresh. */
export const nextAttempt = (reason: RefreshReason, actions: readonly SignalAction[] = []) => [
  { guard: 'isHeldFresh' as const, target: '#session.fresh', actions },
  refreshFor(reason, actions),
];

/**
 * The next attempt of a rotation: fetch the new session's token. The request says `rotated`; the context keeps
 * what started it, so a failed fetch that a signal started makes the next step firm too.
 */
export const nextRotationFetch = (reason: RefreshReason, actions: readonly SignalAction[] = []) => [
  { target: '#session.rotated.fetching', actions: [{ type: 'setReason', params: { reason } } as const, ...actions] },
];

type Attempt = (
  reason: RefreshReason,
  actions?: readonly SignalAction[],
) => ReturnType<typeof nextAttempt> | ReturnType<typeof nextRotationFetch>;

/**
 * Waiting out a backoff step: the timer starts the next attempt (or, with the network down, leaves it to the
 * network's return). In `open` the first online or wake signal may cut the step short; in `firm` none may.
 */
export const backingOff = (attempt: Attempt, on: object) => ({
  tags: ['awaitingNetwork'],
  invoke: retryTimer,
  initial: 'open' as const,
  on: { 'timer.retryDue': [{ guard: 'isNetworkDown' as const, target: 'waiting' }, ...attempt('retry')], ...on },
  states: {
    open: {
      on: {
        'env.online': attempt('resume', ['markOnline']),
        'env.wake': [{ guard: 'isNetworkDown' as const }, ...attempt('resume')],
      },
    },
    firm: {},
  },
});

/** While a rotation waits between attempts: a forced refresh, and with `callersCutBackoff` a caller, try now. */
export const nextRotationAttempt = {
  'user.request': { guard: 'callersCutBackoff' as const, ...nextRotationFetch('retry')[0]! },
  'user.refresh': nextRotationFetch('forced'),
};

