import { and, assign, fromCallback, fromEventObservable, fromPromise, not, sendTo, setup } from 'xstate';
import { NEVER } from 'rxjs';
import { endedAt, guards, updates } from './logic.js';
import { refreshDueAt } from './tokenMath.js';
import type {
  HeldToken,
  RefreshInput,
  RefreshReason,
  RefreshTimerInput,
  RetryTimerInput,
  SessionContext,
  SessionEvent,
  SessionInput,
  TabAnnouncement,
} from './types.js';

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
    // No child id typed by name: XState types a mix of named and unnamed children as an object whose named
    // members break its own index signature once printed in a .d.ts (TS2411 with skipLibCheck false).
    children: {} as Record<string, never>,
  },
  actors: {
    /** Calls the user's `refresh` and parses the result into a HeldToken. */
    refreshToken: fromPromise<HeldToken, RefreshInput>(() => new Promise<never>(() => {})),
    /** Emits `timer.refreshDue` at `input.at`. */
    waitForRefresh: fromEventObservable<SessionEvent, RefreshTimerInput>(() => NEVER),
    /** Emits `timer.retryDue` after the backoff for `input.attempt`. */
    waitForRetry: fromEventObservable<SessionEvent, RetryTimerInput>(() => NEVER),
    /** Resolves when this tab may start its refresh (at once for a single tab). */
    awaitRefreshTurn: fromPromise<void>(async () => {}),
    /** Resolves when the other tabs had their chance to answer `announce.hello`. */
    awaitOtherTabs: fromPromise<void>(async () => {}),
    /** Emits `env.online` / `env.offline`. */
    watchNetwork: fromEventObservable<SessionEvent, void>(() => NEVER),
    /** Emits `env.wake` when the device or page resumes. */
    watchResume: fromEventObservable<SessionEvent, void>(() => NEVER),
    /** The other tabs: receives TabAnnouncements, sends back `tab.*` events. A single tab has none. */
    syncTabs: fromCallback<TabAnnouncement>(() => {}),
  },
  guards,
  actions: {
    startSession: assign(updates.startSession),
    storeToken: assign(updates.storeToken),
    dropToken: assign(updates.dropToken),
    endSession: assign(updates.endSession),
    recordFailure: assign(updates.recordFailure),
    setReason: assign((_, params: { reason: RefreshReason }) => ({ reason: params.reason })),
    markOnline: assign({ online: true }),
    markOffline: assign({ online: false }),
    announceToken: sendTo('tabs', ({ context }): TabAnnouncement => ({
      type: 'announce.token',
      token: { ...context.token!, refreshToken: context.refreshToken, sessionKey: context.session!.sessionKey },
      session: context.session!,
    })),
    announceSignOut: sendTo('tabs', ({ context, event }): TabAnnouncement => ({
      type: 'announce.signOut',
      sessionKey: context.session?.sessionKey ?? '',
      at: endedAt({ context, event }),
    })),
    announceRotation: sendTo('tabs', ({ context, event }): TabAnnouncement => ({
      type: 'announce.rotate',
      sessionKey: context.session!.sessionKey,
      at: (event as { now: number }).now,
    })),
    askOtherTabs: sendTo('tabs', { type: 'announce.hello' } satisfies TabAnnouncement),
  },
}).createMachine({
  id: 'session',
  initial: 'boot',
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
    rotatedAt: null,
    endedAt: null,
  }),
  invoke: [
    { src: 'watchNetwork', id: 'network' },
    { src: 'watchResume', id: 'resume' },
    { src: 'syncTabs', id: 'tabs' },
  ],
  on: {
    'user.signIn': [
      { guard: 'isSameSession', target: '.announcing', actions: 'storeToken' },
      { target: '.announcing', actions: 'startSession' },
    ],
    'user.signOut': { target: '.signedOut', actions: ['announceSignOut', 'endSession'] },
    'user.rotate': { guard: 'hasSession', target: '.rotated', actions: ['announceRotation', 'dropToken'] },
    'tab.token': [
      { guard: 'isNewerTokenOfSession', target: '.settling', actions: 'storeToken' },
      { guard: 'isNewerSession', target: '.settling', actions: 'startSession' },
    ],
    'tab.signOut': { guard: 'isThisSession', target: '.signedOut', actions: 'endSession' },
    'tab.rotate': { guard: 'isThisSession', target: '.rotated', actions: 'dropToken' },
    'tab.hello': { guard: 'isHeldServable', actions: 'announceToken' },
    'env.online': { actions: 'markOnline' },
    'env.offline': { actions: 'markOffline' },
  },
  states: {
    /** Transient: a tab that shares its session asks the others first (`restore` input). */
    boot: {
      always: [{ guard: 'sharesTabs', target: 'restoring' }, { target: 'signedOut' }],
    },
    /** Asking the other tabs for their session before any request; an answer arrives as `tab.token`. */
    restoring: {
      entry: 'askOtherTabs',
      invoke: { src: 'awaitOtherTabs', onDone: 'signedOut' },
    },
    signedOut: {},
    /** Transient: this tab got a token (sign-in or refresh); the other tabs hear of it, then it is judged. */
    announcing: {
      entry: 'announceToken',
      always: 'settling',
    },
    /** Transient: judges the held token by the clock of the event that brought it. */
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
        input: ({ context }) => ({ at: refreshDueAt(context.token!, context.config) }),
      },
      on: {
        'timer.refreshDue': 'settling',
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
        input: ({ context }) => ({
          session: context.session,
          refreshToken: context.refreshToken,
          reason: context.reason,
          satisfiedAfter: context.token?.issuedAt ?? 0,
        }),
        onDone: [
          { guard: 'isSameSession', target: 'announcing', actions: 'storeToken' },
          { target: 'announcing', actions: 'startSession' },
        ],
        onError: [
          { guard: 'isAuthFailure', target: 'signedOut', actions: ['announceSignOut', 'endSession'] },
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
        'user.request': { guard: 'callersCutBackoff', ...refreshFor('retry') },
        'user.refresh': refreshFor('forced'),
      },
    },
    /** The session changed without a token: nothing is served until the new session's token arrives. */
    rotated: {
      initial: 'fetching',
      on: {
        'user.signIn': { target: 'announcing', actions: 'startSession' },
        // A token minted before the rotation is of the rotated-away session: it stops here, never served.
        'tab.token': [{ guard: 'isIssuedSinceRotation', target: 'settling', actions: 'startSession' }, {}],
        'env.offline': { target: '.waiting', actions: 'markOffline' },
        // Every tab hears of one password change: the rotation already under way answers a second notice.
        // Restarting it would abort a request the server may have handled, losing the refresh token it
        // rotated, and the next attempt would replay the spent one (the provider revokes the family).
        'user.rotate': {},
        'tab.rotate': {},
      },
      states: {
        fetching: {
          tags: ['fetching'],
          invoke: {
            src: 'refreshToken',
            id: 'refreshToken',
            input: ({ context }) => ({
              session: context.session,
              refreshToken: context.refreshToken,
              reason: 'rotated',
              satisfiedAfter: context.rotatedAt ?? 0,
            }),
            onDone: { target: '#session.announcing', actions: 'startSession' },
            onError: [
              { guard: 'isAuthFailure', target: '#session.signedOut', actions: ['announceSignOut', 'endSession'] },
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
            'user.request': { guard: 'callersCutBackoff', target: 'fetching' },
            'user.refresh': 'fetching',
            'env.wake': 'fetching',
          },
        },
        waiting: {
          tags: ['awaitingNetwork'],
          on: {
            'user.request': { guard: 'callersCutBackoff', target: 'fetching' },
            'user.refresh': 'fetching',
            'env.wake': 'fetching',
            'env.online': { target: 'fetching', actions: 'markOnline' },
          },
        },
      },
    },
  },
});
