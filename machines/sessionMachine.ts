import { and, assertEvent, assign, enqueueActions, fromCallback, fromEventObservable, fromPromise, not, or, sendTo, setup } from 'xstate';
import { NEVER } from 'rxjs';
import { guards, requestFor, settlingReason, storedSessionOf, timeOf, updates } from './logic.js';
import { requestMachine } from './requestMachine.js';
import { refreshDueAt } from './tokenMath.js';
import { backingOff, failureTo, nextAttempt, nextRotationAttempt, nextRotationFetch, refreshFor } from './transitions.js';
import type {
  RefreshReason,
  SessionReading,
  VaultCommand,
  RefreshTimerInput,
  RequestCommand,
  RetryTimerInput,
  SessionContext,
  SessionEvent,
  SessionInput,
  TabAnnouncement,
} from './types.js';

/** A refresh token alone while a request is out: the old session ends, the new one waits for that request. */
const awaitRequestThenRestore = {
  guard: 'bringsRefreshToken',
  target: '#session.restoring.awaitingRequest',
  actions: ['abandonRequest', 'forgetSession', 'takeRefreshToken'],
} as const;

/**
 * A rotation while a request is out (a refresh, or a restore that found a session): that request is waited for,
 * told its access token is no longer wanted (the answer it hands to the other tabs carries the refresh token only).
 */
const rotateWhileRequestOut = {
  'user.rotate': {
    guard: 'hasSession',
    target: '#session.rotated.awaitingRequest',
    actions: ['withdrawRequest', 'announceRotation', 'dropToken', 'saveSession'],
  },
  'tab.rotate': {
    guard: 'isThisSession',
    target: '#session.rotated.awaitingRequest',
    actions: ['withdrawRequest', 'dropToken', 'keepTakenSession'],
  },
} as const;

/** A restore's request is out: a sign-in or another tab's session waits for it in `refreshing`, as there. */
const whileRequestOut = {
  'user.signIn': {
    target: '#session.refreshing',
    actions: ['abandonRequest', 'startSession', 'announceToken', 'saveSession'],
  },
  'tab.token': [
    { guard: 'isNewerSession', target: '#session.refreshing', actions: ['abandonRequest', 'startSession', 'keepTakenSession'] },
    {},
  ],
  'user.restore': awaitRequestThenRestore,
} as const;

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
    /** Keeps the session between starts (a storage, the tabs' store): receives `vault.save` / `vault.clear`. */
    keepSession: fromCallback<VaultCommand>(() => {}),
    /** Reads the session kept from an earlier start. */
    readSession: fromPromise<SessionReading>(async () => ({ stored: null, now: 0 })),
  },
  guards,
  actions: {
    startSession: assign(updates.startSession),
    storeToken: assign(updates.storeToken),
    keepRefreshToken: assign(updates.keepRefreshToken),
    takeToldRefreshToken: assign(updates.takeToldRefreshToken),
    dropToken: assign(updates.dropToken),
    endSession: assign(updates.endSession),
    endSessionQuietly: assign((args) => ({ ...updates.endSession(args), error: null })),
    takeStoredSession: assign(updates.takeStoredSession),
    takeRefreshToken: assign(updates.takeRefreshToken),
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
    sendRestoreRequest: sendTo('request', ({ context, event }): RequestCommand => ({
      type: 'request.send',
      request: requestFor(context, 'restore'),
      now: timeOf(event),
    })),
    abortRequest: sendTo('request', { type: 'request.abort' } satisfies RequestCommand),
    withdrawRequest: sendTo('request', ({ event }): RequestCommand => ({ type: 'request.withdraw', now: timeOf(event) })),
    /**
     * A newer token of this session another tab told while a request waits for the lock, or a refresh token told
     * alone, for the request child: the tabs' store may lag behind it (a write that failed). (What the machine holds
     * when it asks needs no telling: the request is sent with it, and `satisfiedAfter` orders the store against it.)
     */
    tellRequest: sendTo('request', ({ event }): RequestCommand => {
      assertEvent(event, ['tab.token', 'tab.refreshToken']);
      if (event.type === 'tab.refreshToken') {
        const { session, refreshToken, at } = event;
        return { type: 'request.know', known: { record: { token: null, session, refreshToken }, at } };
      }
      const { token, session } = event;
      const kept = token.refreshToken === undefined ? {} : { refreshToken: token.refreshToken };
      return { type: 'request.know', known: { record: { token, session, ...kept }, at: token.issuedAt } };
    }),
    abandonRequest: sendTo('request', ({ event }): RequestCommand => ({ type: 'request.abandon', now: timeOf(event) })),
    saveSession: sendTo('vault', ({ context }): VaultCommand => ({ type: 'vault.save', stored: storedSessionOf(context) })),
    /** Another tab's session, taken up: kept in this engine's storage too (the tabs' store has it already). */
    keepTakenSession: sendTo('vault', ({ context }): VaultCommand => ({
      type: 'vault.save',
      stored: storedSessionOf(context),
      toTabs: false,
    })),
    forgetSession: sendTo('vault', { type: 'vault.clear' } satisfies VaultCommand),
    /** A failed answer that still brought a refresh token (a malformed one): kept, or a reload would replay. */
    saveRefreshToken: enqueueActions(({ context, check, enqueue }) => {
      if (!check('bringsRefreshToken') || !check('hasSession')) return;
      enqueue.sendTo('vault', { type: 'vault.save', stored: storedSessionOf(context) } satisfies VaultCommand);
    }),
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
    /**
     * The refresh token an answer brought without its access token (a rotation withdrew it), kept: told to the
     * other tabs, whose next lock turn must not send the one it replaced should the hand-off write have failed.
     */
    announceRefreshToken: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'request.done');
      const { session, refreshToken } = context;
      // Only a new one the answer brought (the one sent, the other tabs hold already).
      const brought = refreshToken === event.token.refreshToken && refreshToken !== (event.sent ?? event.request.refreshToken);
      if (session === null || refreshToken === undefined || !brought) return;
      enqueue.sendTo('tabs', { type: 'announce.refreshToken', session, refreshToken, at: event.now } satisfies TabAnnouncement);
    }),
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
    { src: 'keepSession', id: 'vault' },
  ],
  on: {
    'user.signIn': [
      { guard: 'isSameSession', target: '.announcing', actions: ['storeToken', 'saveSession'] },
      { target: '.announcing', actions: ['startSession', 'saveSession'] },
    ],
    // A refresh token alone: a new session from one refresh (a request in flight is waited for first).
    'user.restore': { guard: 'bringsRefreshToken', target: '.restoring.fetching', actions: ['forgetSession', 'takeRefreshToken'] },
    'user.signOut': { target: '.signedOut', actions: ['abortRequest', 'announceSignOut', 'endSession', 'forgetSession'] },
    'user.rotate': [
      {
        guard: and(['hasSession', 'isNetworkDown']),
        target: '.rotated.waiting',
        actions: ['announceRotation', 'dropToken', 'saveSession'],
      },
      { guard: 'hasSession', target: '.rotated.fetching', actions: ['announceRotation', 'dropToken', 'saveSession'] },
    ],
    'tab.token': [
      { guard: 'isNewerTokenOfSession', target: '.settling', actions: ['storeToken', 'keepTakenSession'] },
      { guard: 'isNewerSession', target: '.settling', actions: ['startSession', 'keepTakenSession'] },
    ],
    'tab.signOut': { guard: 'isThisSession', target: '.signedOut', actions: ['abortRequest', 'endSession', 'forgetSession'] },
    'tab.rotate': [
      // The rotating tab kept the rotation in the tabs' store: this one keeps it in its own storage only.
      { guard: and(['isThisSession', 'isNetworkDown']), target: '.rotated.waiting', actions: ['dropToken', 'keepTakenSession'] },
      { guard: 'isThisSession', target: '.rotated.fetching', actions: ['dropToken', 'keepTakenSession'] },
    ],
    'tab.refreshToken': {
      guard: 'isNewerRefreshTokenOfSession',
      actions: ['takeToldRefreshToken', 'tellRequest', 'keepTakenSession'],
    },
    'tab.hello': { guard: 'isHeldServable', actions: 'announceToken' },
    'tab.cleared': { guard: 'hasSession', target: '.signedOut', actions: ['abortRequest', 'endSession'] },
    'env.online': { actions: 'markOnline' },
    'env.offline': { actions: 'markOffline' },
  },
  states: {
    /** Transient: an engine that keeps its session, or shares it with other tabs, restores it first. */
    boot: {
      always: [{ guard: 'keepsSession', target: 'restoring' }, { target: 'signedOut' }],
    },
    /** Finding the session an earlier start or another tab left, before any request but one that renews it. */
    restoring: {
      initial: 'reading',
      states: {
        reading: {
          invoke: {
            src: 'readSession',
            onDone: [
              { guard: 'isStoredServable', target: '#session.settling', actions: 'takeStoredSession' },
              // The network is down: kept, and renewed when it is back, rather than a request sent to fail.
              { guard: and(['isStoredRenewable', 'isNetworkDown']), target: '#session.offline.waiting', actions: 'takeStoredSession' },
              { guard: 'isStoredRenewable', target: 'fetching', actions: 'takeStoredSession' },
              { guard: 'sharesTabs', target: 'askingTabs' },
              { target: '#session.signedOut' },
            ],
            // A storage that cannot be read is an empty one: the open tabs are asked (a single tab has none to ask).
            onError: 'askingTabs',
          },
        },
        /** Asking the open tabs for their session; an answer arrives as `tab.token`. */
        askingTabs: {
          entry: 'askOtherTabs',
          invoke: { src: 'awaitOtherTabs', onDone: '#session.signedOut' },
        },
        /** One refresh renews the session (`reason: 'restore'`); `getToken` callers wait for it. */
        fetching: {
          tags: ['fetching'],
          entry: 'sendRestoreRequest',
          on: {
            'request.done': { target: '#session.announcing', actions: 'startSession' },
            'request.failed': [
              // Refused: there is no session to restore, which is no error of the app's.
              { guard: 'isAuthFailure', target: '#session.signedOut', actions: ['endSessionQuietly', 'forgetSession'] },
              // A network fault keeps a session that was found; a cookie restore with none has nothing to keep.
              {
                guard: and(['hasSession', 'isFirmWait']),
                target: '#session.offline.backingOff.firm',
                actions: ['recordFailure', 'saveRefreshToken'],
              },
              { guard: 'hasSession', target: '#session.offline.backingOff.open', actions: ['recordFailure', 'saveRefreshToken'] },
              { target: '#session.signedOut', actions: 'endSession' },
            ],
            ...whileRequestOut,
            ...rotateWhileRequestOut,
          },
        },
        /** A refresh token came (`signIn({ refreshToken })`) while a request was out: that one is waited for. */
        awaitingRequest: {
          tags: ['fetching'],
          // The answer of the session the refresh token replaced was kept before it was heard of: not any more.
          on: { 'request.done': { target: 'fetching', actions: 'forgetSession' }, 'request.failed': 'fetching', ...whileRequestOut },
        },
      },
    },
    signedOut: {
      on: {
        // `restore()`: a cookie session (or a stored refresh token) renewed by one refresh.
        'user.restore': { target: 'restoring.fetching', actions: 'takeRefreshToken' },
      },
    },
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
          // Sent for a session a sign-in has since replaced: neither of its tokens is of any use now, and the
          // session kept before it was heard of (the request child's write) is the sign-in's again.
          { guard: not('isForCurrentSession'), target: 'settling', actions: 'saveSession' },
          // No new token is a failed attempt: firm, as for any failure, when a signal started it (`isFirmWait`).
          { guard: and(['isHeldTokenAgain', 'isFirmWait']), target: 'offline.backingOff.firm', actions: 'recordNoNewToken' },
          { guard: 'isHeldTokenAgain', target: 'offline.backingOff.open', actions: 'recordNoNewToken' },
          { guard: 'isSameSession', target: 'announcing', actions: 'storeToken' },
          { target: 'announcing', actions: 'startSession' },
        ],
        'request.failed': [{ guard: not('isForCurrentSession'), target: 'settling' }, ...failureTo('#session.offline.backingOff')],
        'user.signIn': [
          { guard: 'isSameSession', actions: ['storeToken', 'announceToken', 'saveSession'] },
          { actions: ['abandonRequest', 'startSession', 'announceToken', 'saveSession'] },
        ],
        ...rotateWhileRequestOut,
        'user.restore': awaitRequestThenRestore,
        'tab.token': [
          { guard: 'isNewerTokenOfSession', actions: ['storeToken', 'tellRequest', 'keepTakenSession'] },
          { guard: 'isNewerSession', actions: ['abandonRequest', 'startSession', 'keepTakenSession'] },
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
        'user.signIn': { target: 'announcing', actions: ['startSession', 'saveSession'] },
        // Another tab's token counts only when its session started after the rotated one: never the old session's.
        'tab.token': [{ guard: 'isNewerSession', target: 'settling', actions: ['startSession', 'keepTakenSession'] }, {}],
        // Every tab hears of one password change: the rotation already under way answers a second notice.
        'user.rotate': {},
        'tab.rotate': {},
      },
      states: {
        /** A request sent before the rotation is still out: its refresh token is wanted, its access token not. */
        awaitingRequest: {
          tags: ['fetching'],
          on: {
            // The answer was kept with its access token before it was heard of: kept again without it (its refresh
            // token only if it replaces the one held: not for a session another tab's sign-in replaced meanwhile).
            'request.done': [
              { guard: 'isNetworkDown', target: 'waiting', actions: ['keepRefreshToken', 'saveSession', 'announceRefreshToken'] },
              { target: 'fetching', actions: ['keepRefreshToken', 'saveSession', 'announceRefreshToken'] },
            ],
            // A refusal of such a replaced session is not this one's, and a request dropped unsent (the rotation
            // withdrew it) failed nothing: the rotation goes on.
            'request.failed': [
              { guard: and([or([not('isForCurrentSession'), 'isDropped']), 'isNetworkDown']), target: 'waiting' },
              { guard: or([not('isForCurrentSession'), 'isDropped']), target: 'fetching' },
              ...failureTo('#session.rotated.backingOff'),
            ],
            ...whileRequestOut,
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
            ...whileRequestOut,
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
