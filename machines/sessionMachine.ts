import { and, assign, fromEventObservable, fromPromise, not, setup, type EventObject } from 'xstate';
import { NEVER } from 'rxjs';
import type { SessionError } from '../src/errors.js';
import { isFresh, isServable, refreshDueAt } from './tokenMath.js';
import type {
  HeldToken,
  RefreshInput,
  RefreshReason,
  RefreshTimerInput,
  RetryTimerInput,
  SessionContext,
  SessionEvent,
  SessionInput,
} from './types.js';

/** Local time of an event: events carry it; a refresh result carries its time of receipt. */
function timeOf(event: EventObject): number {
  if ('now' in event && typeof event.now === 'number') return event.now;
  if ('output' in event) return (event.output as HeldToken).issuedAt;
  throw new TypeError(`event ${event.type} carries no time`);
}

function tokenOf(event: EventObject): HeldToken {
  if ('token' in event) return event.token as HeldToken;
  return (event as unknown as { output: HeldToken }).output;
}

const retryTimer = {
  src: 'waitForRetry',
  input: ({ context }: { context: SessionContext }) => ({
    attempt: context.attempt,
    retry: context.config.retry,
    retryAfterMs: context.retryAfterMs,
  }),
} as const;

const refreshFor = (reason: RefreshReason) => ({
  target: '#session.refreshing',
  actions: { type: 'setReason', params: { reason } } as const,
});

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as SessionInput,
  },
  actors: {
    /** Provided by the runtime: calls the user's `refresh` and parses the result into a HeldToken. */
    refreshToken: fromPromise<HeldToken, RefreshInput>(() => new Promise<never>(() => {})),
    /** Emits `timer.refreshDue` at `input.at`. */
    waitForRefresh: fromEventObservable<SessionEvent, RefreshTimerInput>(() => NEVER),
    /** Emits `timer.retryDue` after the backoff for `input.attempt`. */
    waitForRetry: fromEventObservable<SessionEvent, RetryTimerInput>(() => NEVER),
    /** Resolves when this tab may refresh (at once for a single tab). */
    awaitRefreshTurn: fromPromise<void>(async () => {}),
    /** Emits `env.online` / `env.offline`. */
    watchNetwork: fromEventObservable<SessionEvent, void>(() => NEVER),
    /** Emits `env.wake` when the device or page resumes. */
    watchResume: fromEventObservable<SessionEvent, void>(() => NEVER),
  },
  guards: {
    isNetworkDown: ({ context }) => !context.online,
    isHeldFresh: ({ context, event }) => isFresh(context.token, timeOf(event), context.config),
    isHeldServable: ({ context, event }) => isServable(context.token, timeOf(event), context.config.leewayMs),
    hasSession: ({ context }) => context.session !== null,
    isSameSession: ({ context, event }) => {
      const key = tokenOf(event).sessionKey;
      return context.session !== null && (key === null || key === context.session.sessionKey);
    },
    isAuthFailure: ({ event }) => (event as { error?: SessionError }).error?.code === 'auth',
  },
  actions: {
    /** Adopts a token of another session (or the first one): a new identity, so `session$` emits. */
    startSession: assign(({ context, event }) => {
      const token = tokenOf(event);
      const now = timeOf(event);
      const sessionKey = token.sessionKey ?? context.session?.sessionKey ?? `session-${now}`;
      return {
        session: { sessionKey, userId: token.userId, startedAt: now },
        token,
        refreshToken: token.refreshToken ?? context.refreshToken,
        attempt: 0,
        retryAfterMs: undefined,
        error: null,
        lastRefreshAt: event.type === 'user.signIn' ? context.lastRefreshAt : now,
      };
    }),
    /** Keeps the session's identity object; only the token changes. */
    storeToken: assign(({ context, event }) => {
      const token = tokenOf(event);
      return {
        token,
        refreshToken: token.refreshToken ?? context.refreshToken,
        attempt: 0,
        retryAfterMs: undefined,
        error: null,
        lastRefreshAt: event.type === 'user.signIn' ? context.lastRefreshAt : timeOf(event),
      };
    }),
    dropToken: assign({ token: null }),
    clearSession: assign({
      session: null,
      token: null,
      refreshToken: undefined,
      attempt: 0,
      retryAfterMs: undefined,
      error: null,
    }),
    endSession: assign(({ event }) => ({
      session: null,
      token: null,
      refreshToken: undefined,
      attempt: 0,
      retryAfterMs: undefined,
      error: (event as { error?: SessionError }).error ?? null,
    })),
    recordFailure: assign(({ context, event }) => {
      const error = (event as { error?: SessionError }).error ?? null;
      return {
        attempt: context.attempt + 1,
        error,
        retryAfterMs: error && 'retryAfterMs' in error ? (error.retryAfterMs as number | undefined) : undefined,
      };
    }),
    setReason: assign((_, params: { reason: RefreshReason }) => ({ reason: params.reason })),
    markOnline: assign({ online: true }),
    markOffline: assign({ online: false }),
  },
}).createMachine({
  id: 'session',
  initial: 'signedOut',
  context: ({ input }) => ({
    config: input.config,
    session: null,
    token: null,
    refreshToken: undefined,
    online: input.online ?? true,
    attempt: 0,
    retryAfterMs: undefined,
    reason: 'expired',
    error: null,
    lastRefreshAt: null,
  }),
  invoke: [
    { src: 'watchNetwork', id: 'network' },
    { src: 'watchResume', id: 'resume' },
  ],
  on: {
    'user.signIn': [
      { guard: 'isSameSession', target: '.settling', actions: 'storeToken' },
      { target: '.settling', actions: 'startSession' },
    ],
    'user.signOut': { target: '.signedOut', actions: 'clearSession' },
    'user.rotate': { guard: 'hasSession', target: '.rotated', actions: 'dropToken' },
    'env.online': { actions: 'markOnline' },
    'env.offline': { actions: 'markOffline' },
  },
  states: {
    signedOut: {},
    /** Transient: judges a newly held token by the clock of the event that brought it. */
    settling: {
      always: [
        { guard: 'isNetworkDown', target: 'offline.waiting' },
        { guard: 'isHeldFresh', target: 'fresh' },
        { guard: 'isHeldServable', target: 'stale' },
        refreshFor('expired'),
      ],
    },
    fresh: {
      invoke: {
        src: 'waitForRefresh',
        id: 'refreshTimer',
        input: ({ context }) => ({ at: refreshDueAt(context.token!, context.config) }),
      },
      on: {
        'timer.refreshDue': { target: 'settling' },
        'clock.check': { guard: not('isHeldFresh'), target: 'settling' },
        // Timers may have slept with the device: re-arm from the clock.
        'env.wake': [{ guard: 'isHeldFresh', target: 'fresh', reenter: true }, { target: 'settling' }],
        'user.refresh': refreshFor('forced'),
        'env.offline': { target: 'offline.waiting', actions: 'markOffline' },
      },
    },
    stale: {
      invoke: { src: 'awaitRefreshTurn', onDone: refreshFor('stale') },
      on: {
        'clock.check': { guard: not('isHeldServable'), ...refreshFor('expired') },
        'user.request': refreshFor('stale'),
        'user.refresh': refreshFor('forced'),
        'env.wake': refreshFor('resume'),
        'env.offline': { target: 'offline.waiting', actions: 'markOffline' },
      },
    },
    refreshing: {
      tags: ['fetching'],
      invoke: {
        src: 'refreshToken',
        id: 'refreshToken',
        input: ({ context }) => ({ session: context.session, refreshToken: context.refreshToken, reason: context.reason }),
        onDone: [
          { guard: 'isSameSession', target: 'settling', actions: 'storeToken' },
          { target: 'settling', actions: 'startSession' },
        ],
        onError: [
          { guard: 'isAuthFailure', target: 'signedOut', actions: 'endSession' },
          { guard: 'isNetworkDown', target: 'offline.waiting', actions: 'recordFailure' },
          { target: 'offline.backingOff', actions: 'recordFailure' },
        ],
      },
      on: {
        'env.offline': { target: 'offline.waiting', actions: 'markOffline' },
      },
    },
    offline: {
      tags: ['awaitingNetwork'],
      initial: 'waiting',
      states: {
        /** The network is down: no attempts until it is back or the device resumes. */
        waiting: {},
        backingOff: {
          invoke: retryTimer,
          on: { 'timer.retryDue': refreshFor('retry') },
        },
      },
      on: {
        'env.online': { target: 'settling', actions: 'markOnline' },
        'env.offline': { target: '.waiting', actions: 'markOffline' },
        'env.wake': [
          { guard: and([not('isNetworkDown'), 'isHeldFresh']), target: 'fresh' },
          { guard: 'isHeldFresh' },
          refreshFor('resume'),
        ],
        'user.request': refreshFor('retry'),
        'user.refresh': refreshFor('forced'),
      },
    },
    /** The session changed without a token: nothing is served until the new session's token arrives. */
    rotated: {
      initial: 'fetching',
      on: {
        'user.signIn': { target: 'settling', actions: 'startSession' },
        'env.offline': { target: '.waiting', actions: 'markOffline' },
      },
      states: {
        fetching: {
          tags: ['fetching'],
          invoke: {
            src: 'refreshToken',
            id: 'refreshToken',
            input: ({ context }) => ({ session: context.session, refreshToken: context.refreshToken, reason: 'rotated' }),
            onDone: { target: '#session.settling', actions: 'startSession' },
            onError: [
              { guard: 'isAuthFailure', target: '#session.signedOut', actions: 'endSession' },
              { guard: 'isNetworkDown', target: 'waiting', actions: 'recordFailure' },
              { target: 'backingOff', actions: 'recordFailure' },
            ],
          },
        },
        backingOff: {
          tags: ['awaitingNetwork'],
          invoke: retryTimer,
          on: {
            'timer.retryDue': 'fetching',
            'user.request': 'fetching',
            'user.refresh': 'fetching',
            'env.wake': 'fetching',
            'env.online': { target: 'fetching', actions: 'markOnline' },
          },
        },
        waiting: {
          tags: ['awaitingNetwork'],
          on: {
            'user.request': 'fetching',
            'user.refresh': 'fetching',
            'env.wake': 'fetching',
            'env.online': { target: 'fetching', actions: 'markOnline' },
          },
        },
      },
    },
  },
});
