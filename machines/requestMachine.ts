import { assertEvent, assign, fromCallback, fromEventObservable, fromPromise, sendParent, setup } from 'xstate';
import { NEVER } from 'rxjs';
import { AbortError, NetworkError, toRefreshFailure, type SessionError } from './errors.js';
import { newestRecord, refreshTokenToSend, sessionOfAnswer, sharedFailure, storeAnswers, type LockTurn } from './tabRules.js';
import type {
  HeldToken,
  KnownRecord,
  RefreshAnswer,
  RefreshInput,
  RequestEvent,
  RequestInput,
  RequestTimerInput,
  SessionConfig,
  SessionEvent,
  StoredFailure,
  StoredSession,
  StoreReading,
} from './types.js';

export interface RequestContext {
  readonly config: SessionConfig;
  /** What the request in flight was sent with; its answer goes back to the session machine with it. */
  readonly request: RefreshInput | null;
  /** When the session machine asked, and whether this tab waited for the lock. */
  readonly turn: LockTurn;
  /** The refresh token actually sent: with tabs, the newest one stored. */
  readonly refreshToken: string | undefined;
  /** An answer being handed to the other tabs (written to the store) before it is reported. */
  readonly handOff: { token: HeldToken; receivedAt: number } | null;
  readonly failure: { error: SessionError; refreshToken?: string; at: number } | null;
  /**
   * What the session machine still wants of the answer, and so what is handed to the other tabs: all of it; its
   * refresh token only (a rotation came: the session it was sent for, without the access token); or nothing (the
   * session was left for another: a late answer must not be stored as the origin's newest).
   */
  readonly wanted: Wanted;
  /** The latest record of the origin this tab knows besides the store: its own last hand-off, or one it was told. */
  readonly known: KnownRecord | null;
}

type Wanted = 'token' | 'refreshToken' | 'nothing';

/** The output of an invoked actor's done event (typed by the state that invoked it). */
const outputOf = <T>(event: unknown): T => (event as { output: T }).output;

/**
 * What the store read under the lock holds, unless this tab knows of something later it lacks. Not for a restore:
 * what this tab knew is of a session it has let go (it restores from a refresh token or a cookie instead).
 */
const readingOf = (context: RequestContext, event: unknown): StoreReading => {
  const reading = outputOf<StoreReading>(event);
  const known = context.request!.session === null ? null : context.known;
  return { ...reading, newest: newestRecord(reading.newest, known) };
};

/** The refresh token actually sent, when it is not the one the session machine asked with. */
const sentOf = (context: RequestContext) =>
  context.refreshToken !== undefined && context.refreshToken !== context.request!.refreshToken ? { sent: context.refreshToken } : {};

const answered = (context: RequestContext, token: HeldToken, now: number): SessionEvent => {
  const request = context.request!;
  return { type: 'request.done', token, session: sessionOfAnswer(request, token, now), request, now, ...sentOf(context) };
};

const failed = (context: RequestContext, error: SessionError, now: number, refreshToken?: string): SessionEvent => ({
  type: 'request.failed',
  error,
  request: context.request!,
  now,
  ...(refreshToken === undefined ? {} : { refreshToken }),
  ...sentOf(context),
});

/** What an answer hands to the other tabs: the session's newest record as this tab keeps it. */
function handedOff(context: RequestContext): StoredSession {
  const { token, receivedAt } = context.handOff!;
  const refreshToken = token.refreshToken ?? context.refreshToken;
  const kept = refreshToken ? { refreshToken } : {};
  // Withdrawn by a rotation: the session it was sent for, with the refresh token only, as that tab keeps it.
  const { session } = context.request!;
  if (context.wanted === 'refreshToken' && session !== null) return { token: null, session, ...kept };
  const answered = sessionOfAnswer(context.request!, token, receivedAt);
  return { token: { ...token, sessionKey: answered.sessionKey }, session: answered, ...kept };
}

/** A write that never settles (a blocked IndexedDB transaction) must not hold the lock, nor the answer, for good. */
const boundedWrite = {
  src: 'waitForTimeout' as const,
  input: ({ context }: { context: RequestContext }) => ({ timeoutMs: context.config.refreshTimeoutMs }),
};

/**
 * The answer kept (for the next lock holder, and with a storage for the next start) before anyone hears of it:
 * a rotated refresh token is never lost to a reload. A failed or hung write changes nothing.
 */
const handingOff = {
  always: { guard: 'isAbandoned' as const, target: '#request.idle', actions: 'reportHandOff' as const },
  // Known before it is written: should the write fail, this tab's next lock turn still goes by it.
  entry: 'knowHandOff' as const,
  on: { 'timer.requestTimeout': { target: '#request.idle', actions: 'reportHandOff' as const } },
  invoke: [
    boundedWrite,
    {
    src: 'writeToken' as const,
    input: ({ context }: { context: RequestContext }) => handedOff(context),
    onDone: { target: '#request.idle', actions: 'reportHandOff' as const },
    onError: { target: '#request.idle', actions: 'reportHandOff' as const },
    },
  ],
};

/** The request's own actor, shared by a single tab and a lock holder: the user's `refresh`, and the timeout. */
const sendingTo = (onAnswer: object, onFailure: object) => ({
  invoke: {
    src: 'refreshToken' as const,
    input: ({ context }: { context: RequestContext }) => ({ ...context.request!, refreshToken: context.refreshToken }),
    onDone: [{ guard: 'isTokenAnswer' as const, ...onAnswer }, onFailure],
    onError: { target: '#request.idle', actions: 'reportRejection' as const },
  },
});

/**
 * The refresh request's own lifecycle, a child of the session machine that lives as long as it does. Once sent,
 * a request runs until it answers, fails, times out or is aborted by a sign-out: the session machine may change
 * state meanwhile (offline, a rotation, a sign-in), and only decides what the answer is worth when it comes. It
 * is never sent a request while one is in flight: the session machine's states see to that.
 *
 * With tabs it is the cross-tab protocol too: the origin's lock asked and held, the store read (another tab's
 * token may answer the request, or its failure be shared), the request sent with the newest refresh token, the
 * answer or failure written for the next lock holder, the lock released on leaving `underLock`.
 */
export const requestMachine = setup({
  types: {
    context: {} as RequestContext,
    events: {} as RequestEvent,
    input: {} as RequestInput,
  },
  actors: {
    /** Calls the user's `refresh` with the request's AbortSignal and parses the answer. */
    refreshToken: fromPromise<RefreshAnswer, RefreshInput>(() => new Promise<never>(() => {})),
    /** Emits `timer.requestTimeout` after `input.timeoutMs`. */
    waitForTimeout: fromEventObservable<RequestEvent, RequestTimerInput>(() => NEVER),
    /** Asks for the origin's refresh lock, sends `lock.granted`, holds it until stopped. */
    holdLock: fromCallback<RequestEvent>(() => {}),
    /** Reads what the last lock holder left: the newest token and the last failure. */
    readStore: fromPromise<StoreReading>(() => new Promise<never>(() => {})),
    /** Writes the newest token for the next lock holder (and, with storage, for the next start). */
    writeToken: fromPromise<void, StoredSession>(async () => {}),
    /** Records a failed attempt for the tabs queued on the lock. */
    writeFailure: fromPromise<void, StoredFailure>(async () => {}),
  },
  guards: {
    sharesTabs: ({ context }) => context.config.shareTabs,
    isTokenAnswer: ({ event }) => 'token' in outputOf<RefreshAnswer>(event),
    isAnsweredByStore: ({ context, event }) => {
      const { newest, now } = readingOf(context, event);
      return newest !== null && storeAnswers(newest, context.request!, now, context.config);
    },
    isSharedFailure: ({ context, event }) => {
      const { failure, now } = outputOf<StoreReading>(event);
      return sharedFailure(failure, context.request!, context.turn, now, context.config) !== null;
    },
    /** An AuthError is not recorded: the sign-out reaches every tab as a message. */
    isRecordedFailure: ({ context }) => context.failure?.error.code !== 'auth',
    isAbandoned: ({ context }) => context.wanted === 'nothing',
  },
  actions: {
    keepRequest: assign(({ event }) => {
      assertEvent(event, 'request.send');
      const turn = { askedAt: event.now, waited: false };
      const { request } = event;
      return { request, refreshToken: request.refreshToken, turn, handOff: null, failure: null, wanted: 'token' as const };
    }),
    withdraw: assign(({ context }) => ({ wanted: context.wanted === 'token' ? ('refreshToken' as const) : context.wanted })),
    abandon: assign({ wanted: 'nothing' as const }),
    know: assign(({ event }) => {
      assertEvent(event, 'request.know');
      return { known: event.known };
    }),
    forgetKnown: assign({ known: null }),
    knowHandOff: assign(({ context }) =>
      context.wanted === 'nothing' ? {} : { known: { record: handedOff(context), at: context.handOff!.receivedAt } },
    ),
    keepLockTurn: assign(({ context, event }) => {
      assertEvent(event, 'lock.granted');
      return { turn: { ...context.turn, waited: event.waited } };
    }),
    useStoredRefreshToken: assign(({ context, event }) => ({
      refreshToken: refreshTokenToSend(readingOf(context, event).newest, context.request!),
    })),
    keepHandOff: assign(({ event }) => {
      const answer = outputOf<RefreshAnswer>(event) as { token: HeldToken; receivedAt: number };
      return { handOff: answer };
    }),
    keepFailure: assign(({ event }) => {
      const answer = outputOf<RefreshAnswer>(event) as { error: unknown; refreshToken?: string; receivedAt: number };
      return { failure: { error: toRefreshFailure(answer.error), refreshToken: answer.refreshToken, at: answer.receivedAt } };
    }),
    reportFailure: sendParent(({ context, event }) => {
      const answer = outputOf<RefreshAnswer>(event) as { error: unknown; refreshToken?: string; receivedAt: number };
      return failed(context, toRefreshFailure(answer.error), answer.receivedAt, answer.refreshToken);
    }),
    /** A `refreshToken` actor that rejects (rather than resolving a failure) fails as of when it was asked. */
    reportRejection: sendParent(({ context, event }) =>
      failed(context, toRefreshFailure((event as unknown as { error: unknown }).error), context.turn.askedAt),
    ),
    reportDropped: sendParent(({ context, event }) => {
      assertEvent(event, ['request.withdraw', 'request.abandon']);
      return failed(context, new AbortError('The refresh was dropped before it was sent: its answer is no longer wanted'), event.now);
    }),
    reportTimeout: sendParent(({ context, event }) => {
      assertEvent(event, 'timer.requestTimeout');
      return failed(context, new NetworkError(`The refresh did not answer within ${context.config.refreshTimeoutMs} ms`), event.now);
    }),
    reportStored: sendParent(({ context, event }) => {
      const { newest, now } = readingOf(context, event);
      const request = context.request!;
      // The session's newest refresh token is the stored one, beside the token.
      const token = { ...newest!.token!, refreshToken: newest!.refreshToken };
      return { type: 'request.done', token, session: newest!.session, request, now };
    }),
    reportSharedFailure: sendParent(({ context, event }) => {
      const { failure, now } = outputOf<StoreReading>(event);
      return failed(context, sharedFailure(failure, context.request!, context.turn, now, context.config)!, now);
    }),
    reportHandOff: sendParent(({ context }) => {
      const { token, receivedAt } = context.handOff!;
      // An answer without a refresh token keeps the one actually sent (with tabs, the newest stored).
      return answered(context, { ...token, refreshToken: token.refreshToken ?? context.refreshToken }, receivedAt);
    }),
    reportKeptFailure: sendParent(({ context }) => {
      const { error, at, refreshToken } = context.failure!;
      return failed(context, error, at, refreshToken);
    }),
  },
}).createMachine({
  id: 'request',
  context: ({ input }) => ({
    config: input.config,
    request: null,
    turn: { askedAt: 0, waited: false },
    refreshToken: undefined,
    handOff: null,
    failure: null,
    wanted: 'token',
    known: null,
  }),
  initial: 'idle',
  on: {
    // Leaving a state stops its actors: the user's `refresh` sees its signal abort, a held lock is released. An
    // abort ends the session (a sign-out): what this tab knew of it is forgotten.
    'request.abort': { target: '.idle', actions: 'forgetKnown' },
    'request.know': { actions: 'know' },
    'request.withdraw': { actions: 'withdraw' },
    'request.abandon': { actions: 'abandon' },
  },
  states: {
    idle: {
      on: {
        'request.send': [
          { guard: 'sharesTabs', target: 'underLock', actions: 'keepRequest' },
          { target: 'alone', actions: 'keepRequest' },
        ],
      },
    },
    /** A single tab: the request is out; only its answer, its failure, the timeout or an abort ends it. */
    alone: {
      initial: 'awaitingAnswer',
      states: {
        awaitingAnswer: {
          invoke: [
            sendingTo({ target: 'handingOff', actions: 'keepHandOff' }, { target: '#request.idle', actions: 'reportFailure' }).invoke,
            { src: 'waitForTimeout', input: ({ context }) => ({ timeoutMs: context.config.refreshTimeoutMs }) },
          ],
          on: { 'timer.requestTimeout': { target: '#request.idle', actions: 'reportTimeout' } },
        },
        handingOff,
      },
    },
    /** Tabs of one origin: one lock holder at a time, released when this state is left. */
    underLock: {
      invoke: { src: 'holdLock' },
      initial: 'awaitingAnswer',
      states: {
        /** Bounded by `refreshTimeoutMs`, the lock's wait included. */
        awaitingAnswer: {
          invoke: { src: 'waitForTimeout', input: ({ context }) => ({ timeoutMs: context.config.refreshTimeoutMs }) },
          // Not sent yet: a request whose access token is no longer wanted is dropped (a rotation sends its own; a
          // request of a session left for another would send a refresh token the new session's tabs may spend).
          on: {
            'timer.requestTimeout': { target: '#request.idle', actions: 'reportTimeout' },
            'request.withdraw': { target: '#request.idle', actions: 'reportDropped' },
            'request.abandon': { target: '#request.idle', actions: 'reportDropped' },
          },
          initial: 'lockAsked',
          states: {
            lockAsked: {
              on: { 'lock.granted': { target: 'readingStore', actions: 'keepLockTurn' } },
            },
            readingStore: {
              invoke: {
                src: 'readStore',
                onDone: [
                  { guard: 'isAnsweredByStore', target: '#request.idle', actions: 'reportStored' },
                  { guard: 'isSharedFailure', target: '#request.idle', actions: 'reportSharedFailure' },
                  { target: 'sending', actions: 'useStoredRefreshToken' },
                ],
                // A store that cannot be read is no reason not to refresh.
                onError: 'sending',
              },
            },
            sending: {
              ...sendingTo(
                { target: '#request.underLock.handingOff', actions: 'keepHandOff' },
                { target: '#request.underLock.recordingFailure', actions: 'keepFailure' },
              ),
              // Sent: it runs on (its answer's refresh token is kept by the session machine if still its own).
              on: { 'request.withdraw': { actions: 'withdraw' }, 'request.abandon': { actions: 'abandon' } },
            },
          },
        },
        /** The answer written for the next lock holder before the lock goes. */
        handingOff,
        /** Transient: a failure the queued tabs share is written for them; an AuthError is not. */
        recordingFailure: {
          always: [
            { guard: 'isRecordedFailure', target: 'writingFailure' },
            { target: '#request.idle', actions: 'reportKeptFailure' },
          ],
        },
        writingFailure: {
          on: { 'timer.requestTimeout': { target: '#request.idle', actions: 'reportKeptFailure' } },
          invoke: [
            boundedWrite,
            {
            src: 'writeFailure',
            input: ({ context }) => {
              const { error, at } = context.failure!;
              const retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
              return {
                at,
                sessionKey: context.request!.session?.sessionKey ?? null,
                code: error.code === 'invalid_token' ? 'invalid_token' : 'network',
                ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
              };
            },
            onDone: { target: '#request.idle', actions: 'reportKeptFailure' },
            onError: { target: '#request.idle', actions: 'reportKeptFailure' },
            },
          ],
        },
      },
    },
  },
});
