import { and, assign, fromCallback, fromEventObservable, fromPromise, not, sendTo, setup } from 'xstate';
import { NEVER } from 'rxjs';
import { guards, requestFor, settlingReason, timeOf, updates } from './logic.js';
import { requestMachine } from './requestMachine.js';
import { refreshDueAt } from './tokenMath.js';
import { backingOff, failureTo, nextAttempt, nextRotationAttempt, nextRotationFetch, refreshFor } from './transitions.js';
import type {
  RefreshReason,
  RefreshTimerInput,
  RequestCommand,
  RetryTimerInput,
  SessionContext,
  SessionEvent,
  SessionInput,
  TabAnnouncement,
} from './types.js';

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
    /** The refresh request's lifecycle (see `requestMachine`): provide its `refreshToken` and `waitForTimeout`. */
    request: requestMachine,
    /** Emits `timer.refreshDue` at `input.at`. */
    waitForRefresh: fromEventObservable<SessionEvent, RefreshTimerInput>(() => NEVER),
    /** Emits `timer.retryDue` after the backoff for `input.attempt`. */
    waitForRetry: fromEventObservable<SessionEvent, RetryTimerInput>(() => NEVER),
    /** Resolves with the time when this tab may start its refresh (at once for a single tab). */
    awaitRefreshTurn: fromPromise<number, { now: number }>(async ({ input }) => input.now),
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
    keepRefreshToken: assign(updates.keepRefreshToken),
    dropToken: assign(updates.dropToken),
    endSession: assign(updates.endSession),
    recordFailure: assign(updates.recordFailure),
    recordNoNewToken: assign(updates.recordNoNewToken),
    setReason: assign((_, params: { reason: RefreshReason }) => ({ reason: params.reason })),
    setSettlingReason: assign(({ event }) => ({ reason: settlingReason(event) })),
    markOnline: assign({ online: true }),
    markOffline: assign({ online: false }),
    sendRequest: sendTo('request', ({ context, event }): RequestCommand => ({
      type: 'request.send',
      request: requestFor(context, context.reason),
      now: timeOf(event),
    })),
    sendRotationRequest: sendTo('request', ({ context, event }): RequestCommand => ({
      type: 'request.send',
      request: requestFor(context, 'rotated'),
      now: timeOf(event),
    })),
    abortRequest: sendTo('request', { type: 'request.abort' } satisfies RequestCommand),
    announceToken: sendTo('tabs', ({ context }): TabAnnouncement => ({
      type: 'announce.token',
      token: { ...context.token!, refreshToken: context.refreshToken, sessionKey: context.session!.sessionKey },
      session: context.session!,
    })),
    announceSignOut: sendTo('tabs', ({ context, event }): TabAnnouncement => ({
      type: 'announce.signOut',
      sessionKey: context.session?.sessionKey ?? '',
      at: timeOf(event),
    })),
    announceRotation: sendTo('tabs', ({ context, event }): TabAnnouncement => ({
      type: 'announce.rotate',
      sessionKey: context.session!.sessionKey,
      at: timeOf(event),
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
    droppedToken: null,
    online: input.online ?? true,
    attempt: 0,
    retryAfterMs: undefined,
    reason: 'expired',
    error: null,
    lastRefreshAt: null,
    endedAt: null,
  }),
  invoke: [
    { src: 'request', id: 'request', input: ({ context }) => ({ config: context.config }) },
    { src: 'watchNetwork', id: 'network' },
    { src: 'watchResume', id: 'resume' },
    { src: 'syncTabs', id: 'tabs' },
  ],
  on: {
    'user.signIn': [
      { guard: 'isSameSession', target: '.announcing', actions: 'storeToken' },
      { target: '.announcing', actions: 'startSession' },
    ],
    'user.signOut': { target: '.signedOut', actions: ['abortRequest', 'announceSignOut', 'endSession'] },
    'user.rotate': [
      { guard: and(['hasSession', 'isNetworkDown']), target: '.rotated.waiting', actions: ['announceRotation', 'dropToken'] },
      { guard: 'hasSession', target: '.rotated.fetching', actions: ['announceRotation', 'dropToken'] },
    ],
    'tab.token': [
      { guard: 'isNewerTokenOfSession', target: '.settling', actions: 'storeToken' },
      { guard: 'isNewerSession', target: '.settling', actions: 'startSession' },
    ],
    'tab.signOut': { guard: 'isThisSession', target: '.signedOut', actions: ['abortRequest', 'endSession'] },
    'tab.rotate': [
      { guard: and(['isThisSession', 'isNetworkDown']), target: '.rotated.waiting', actions: 'dropToken' },
      { guard: 'isThisSession', target: '.rotated.fetching', actions: 'dropToken' },
    ],
    'tab.hello': { guard: 'isHeldServable', actions: 'announceToken' },
    'env.online': { actions: 'markOnline' },
    'env.offline': { actions: 'markOffline' },
  },
  states: {
    /** Transient: a tab that shares its session asks the others first. */
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
        { target: 'refreshing', actions: ['setSettlingReason', 'sendRequest'] },
      ],
    },
    fresh: {
      invoke: {
        src: 'waitForRefresh',
        input: ({ context, event }) => ({ at: refreshDueAt(context.token!, context.config), now: timeOf(event) }),
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
      invoke: { src: 'awaitRefreshTurn', input: ({ event }) => ({ now: timeOf(event) }), onDone: refreshFor('stale') },
      on: {
        'clock.check': { guard: not('isHeldServable'), ...refreshFor('expired') },
        'user.request': refreshFor('stale'),
        'user.refresh': refreshFor('forced'),
        'env.wake': refreshFor('resume'),
        'env.offline': { target: 'offline.waiting', actions: 'markOffline' },
      },
    },
    /**
     * A request is in flight. Nothing here stops it: going offline only marks the network down, and a
     * rotation or a sign-in decides what its answer is worth (see `rotated.awaitingRequest`, `isForCurrentSession`).
     */
    refreshing: {
      tags: ['fetching'],
      on: {
        'request.done': [
          // Sent for a session a sign-in has since replaced: neither of its tokens is of any use now.
          { guard: not('isForCurrentSession'), target: 'settling' },
          // No new token is a failed attempt: firm, as for any failure, when a signal started it (`isFirmWait`).
          { guard: and(['isHeldTokenAgain', 'isFirmWait']), target: 'offline.backingOff.firm', actions: 'recordNoNewToken' },
          { guard: 'isHeldTokenAgain', target: 'offline.backingOff.open', actions: 'recordNoNewToken' },
          { guard: 'isSameSession', target: 'announcing', actions: 'storeToken' },
          { target: 'announcing', actions: 'startSession' },
        ],
        'request.failed': [{ guard: not('isForCurrentSession'), target: 'settling' }, ...failureTo('#session.offline.backingOff')],
        'user.signIn': [
          { guard: 'isSameSession', actions: ['storeToken', 'announceToken'] },
          { actions: ['startSession', 'announceToken'] },
        ],
        'user.rotate': { target: 'rotated.awaitingRequest', actions: ['announceRotation', 'dropToken'] },
        'tab.rotate': { guard: 'isThisSession', target: 'rotated.awaitingRequest', actions: 'dropToken' },
        'tab.token': [
          { guard: 'isNewerTokenOfSession', actions: 'storeToken' },
          { guard: 'isNewerSession', actions: 'startSession' },
        ],
      },
    },
    offline: {
      tags: ['awaitingNetwork'],
      initial: 'waiting',
      states: {
        /** The network is down and no backoff stands: nothing is tried until it is back. */
        waiting: {
          on: { 'env.online': nextAttempt('resume', ['markOnline']) },
        },
        backingOff: backingOff(nextAttempt, {}),
      },
      on: {
        'user.request': { guard: 'callersCutBackoff', ...refreshFor('retry') },
        'user.refresh': refreshFor('forced'),
      },
    },
    /** The session changed without a token: nothing is served until the new session's token arrives. */
    rotated: {
      initial: 'fetching',
      on: {
        'user.signIn': { target: 'announcing', actions: 'startSession' },
        // Another tab's token counts only when its session started after the rotated one: never the old session's.
        'tab.token': [{ guard: 'isNewerSession', target: 'settling', actions: 'startSession' }, {}],
        // Every tab hears of one password change: the rotation already under way answers a second notice.
        'user.rotate': {},
        'tab.rotate': {},
      },
      states: {
        /** A request sent before the rotation is still out: its refresh token is wanted, its access token not. */
        awaitingRequest: {
          tags: ['fetching'],
          on: {
            'request.done': [
              { guard: 'isNetworkDown', target: 'waiting', actions: 'keepRefreshToken' },
              { target: 'fetching', actions: 'keepRefreshToken' },
            ],
            'request.failed': failureTo('#session.rotated.backingOff'),
            'user.signIn': { target: '#session.refreshing', actions: ['startSession', 'announceToken'] },
            'tab.token': [{ guard: 'isNewerSession', target: '#session.refreshing', actions: 'startSession' }, {}],
          },
        },
        fetching: {
          tags: ['fetching'],
          entry: 'sendRotationRequest',
          on: {
            'request.done': [
              { guard: 'isDroppedToken', target: 'backingOff.open', actions: 'recordNoNewToken' },
              { target: '#session.announcing', actions: 'startSession' },
            ],
            'request.failed': failureTo('#session.rotated.backingOff'),
            'user.signIn': { target: '#session.refreshing', actions: ['startSession', 'announceToken'] },
            'tab.token': [{ guard: 'isNewerSession', target: '#session.refreshing', actions: 'startSession' }, {}],
          },
        },
        backingOff: backingOff(nextRotationFetch, nextRotationAttempt),
        /** The network is down: the new session's token is fetched when it is back. */
        waiting: {
          tags: ['awaitingNetwork'],
          on: { 'env.online': { target: 'fetching', actions: 'markOnline' }, ...nextRotationAttempt },
        },
      },
    },
  },
});
