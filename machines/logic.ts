import { InvalidTokenError, saneRetryAfterMs, type SessionError } from './errors.js';
import { isLaterInstance, isSameInstance } from './tabRules.js';
import { isFresh, isServable } from './tokenMath.js';
import type {
  HeldToken,
  RefreshInput,
  RefreshReason,
  SessionContext,
  SessionEvent,
  SessionInfo,
  SessionReading,
  StoredSession,
} from './types.js';

/** Guards and context updates of the session machine, as pure functions of (context, event). */

type AnyEvent = SessionEvent | { type: string; output?: unknown; error?: unknown };
type Args = { context: SessionContext; event: AnyEvent };

/** Local time of an event: events carry it (an actor that resolves a time, or a reading with one, too). */
export function timeOf(event: AnyEvent): number {
  if ('now' in event && typeof event.now === 'number') return event.now;
  if ('at' in event && typeof event.at === 'number') return event.at;
  if ('output' in event && typeof event.output === 'number') return event.output;
  const output = (event as { output?: { now?: unknown } }).output;
  if (typeof output?.now === 'number') return output.now;
  throw new TypeError(`event ${event.type} carries no time`);
}

const tokenOf = (event: AnyEvent): HeldToken => (event as { token: HeldToken }).token;
const requestOf = (event: AnyEvent): RefreshInput => (event as { request: RefreshInput }).request;
const sessionOf = (event: AnyEvent): SessionInfo => (event as { session: SessionInfo }).session;
const errorOf = (event: AnyEvent) => ('error' in event ? (event.error as SessionError) : null);

/** Newer means issued later, then expiring later: a staler token never overwrites a fresher one. */
export function isNewer(candidate: HeldToken, held: HeldToken | null): boolean {
  if (held === null) return true;
  if (candidate.issuedAt !== held.issuedAt) return candidate.issuedAt > held.issuedAt;
  return candidate.expiresAt > held.expiresAt;
}


/** What a refresh request is sent with. */
export function requestFor(context: SessionContext, reason: RefreshReason): RefreshInput {
  return {
    session: context.session,
    refreshToken: context.refreshToken,
    reason,
    // A rotation's fetch replaces the token it dropped: a stored token older than that may carry a spent refresh token.
    satisfiedAfter: (context.token ?? context.droppedToken)?.issuedAt ?? 0,
  };
}

/** The reason of an attempt that `settling` starts, from the event that led there. */
export function settlingReason(event: AnyEvent): RefreshReason {
  if (event.type === 'timer.retryDue') return 'retry';
  if (event.type === 'env.online' || event.type === 'env.wake') return 'resume';
  return 'expired';
}

const readingOf = (event: AnyEvent): SessionReading => (event as { output: SessionReading }).output;

/** The session as it is kept between starts and for the next lock holder. */
export function storedSessionOf(context: SessionContext): StoredSession {
  const { session, token, refreshToken } = context;
  return {
    session: session!,
    token: token && { ...token, sessionKey: session!.sessionKey },
    ...(refreshToken === undefined ? {} : { refreshToken }),
  };
}

export const guards = {
  sharesTabs: ({ context }: Args) => context.config.shareTabs,
  keepsSession: ({ context }: Args) => context.config.keepsSession,
  bringsRefreshToken: ({ event }: Args) => typeof (event as { refreshToken?: unknown }).refreshToken === 'string',
  /** A kept token still servable: the session is back with no request. */
  isStoredServable: ({ context, event }: Args) => {
    const { stored, now } = readingOf(event);
    return isServable(stored?.token ?? null, now, context.config.leewayMs);
  },
  /** A kept session without a servable token (expired, or a refresh token alone): one refresh renews it. */
  isStoredRenewable: ({ event }: Args) => readingOf(event).stored !== null,
  isNetworkDown: ({ context }: Args) => !context.online,
  callersCutBackoff: ({ context }: Args) => context.config.callersCutBackoff,
  isHeldFresh: ({ context, event }: Args) => isFresh(context.token, timeOf(event), context.config),
  isHeldServable: ({ context, event }: Args) => isServable(context.token, timeOf(event), context.config.leewayMs),
  hasSession: ({ context }: Args) => context.session !== null,
  /** A token that names no session (opaque refresh results) stays in the current one. */
  isSameSession: ({ context, event }: Args) => {
    const key = tokenOf(event).sessionKey;
    return context.session !== null && (key === null || key === context.session.sessionKey);
  },
  /** The answer to a request sent for the session held now (not one a sign-in has since replaced). */
  isForCurrentSession: ({ context, event }: Args) => requestOf(event).session === context.session,
  /**
   * The answer is the access token that was held when the request was sent: no new token (a caching server, a
   * replayed response). The same token another tab has handed over meanwhile is no failure.
   */
  isHeldTokenAgain: ({ context, event }: Args) =>
    context.token !== null &&
    tokenOf(event).accessToken === context.token.accessToken &&
    context.token.issuedAt <= requestOf(event).satisfiedAfter,
  /** The answer is the token a rotation dropped: never the new session's. */
  isDroppedToken: ({ context, event }: Args) => tokenOf(event).accessToken === context.droppedToken?.accessToken,
  isAuthFailure: ({ event }: Args) => errorOf(event)?.code === 'auth',
  /** The request child dropped the request unsent (`request.withdraw`, `request.abandon`): no attempt failed. */
  isDropped: ({ event }: Args) => errorOf(event)?.code === 'aborted',
  /**
   * The next attempt waits for the backoff timer, whatever signals arrive: the server asked to wait, or the
   * attempt that failed was itself started by an online or wake signal (so a storm of them costs one attempt
   * per backoff step).
   */
  isFirmWait: ({ context, event }: Args) =>
    saneRetryAfterMs((errorOf(event) as { retryAfterMs?: unknown } | null)?.retryAfterMs) !== undefined ||
    context.reason === 'resume',
  /** Another tab's newer token of this very session. */
  isNewerTokenOfSession: ({ context, event }: Args) =>
    isSameInstance(context.session, sessionOf(event)) && isNewer(tokenOf(event), context.token),
  /**
   * Another tab's session that started after ours (or after our last sign-out): a sign-in or rotation there,
   * under another key or the same one. Tabs share one clock, so start times order sessions; late messages of
   * older sessions, a rotated-away one of the same key included, are ignored.
   */
  isNewerSession: ({ context, event }: Args) => {
    const session = sessionOf(event);
    if (context.session !== null) return isLaterInstance(session, context.session);
    return context.endedAt === null || session.startedAt > context.endedAt;
  },
  /**
   * Another tab's refresh token for the session held (an answer a rotation withdrew), received after the held
   * token was issued: it replaced that token's, which is spent.
   */
  isNewerRefreshTokenOfSession: ({ context, event }: Args) => {
    const told = event as Extract<SessionEvent, { type: 'tab.refreshToken' }>;
    return isSameInstance(context.session, told.session) && told.at > (context.token?.issuedAt ?? Number.NEGATIVE_INFINITY);
  },
  isThisSession: ({ context, event }: Args) =>
    context.session !== null && context.session.sessionKey === (event as { sessionKey: string }).sessionKey,
};

const freshAttempts = { attempt: 0, retryAfterMs: undefined, error: null } as const;

/**
 * A refresh answer's refresh token (a malformed answer's too) replaces the one its request sent, while that is
 * the one held: the server may have spent it. A sign-in that brought another since keeps that one.
 */
function refreshTokenAfter({ context, event }: Args): string | undefined {
  if (event.type !== 'request.done' && event.type !== 'request.failed') {
    return tokenOf(event).refreshToken ?? context.refreshToken;
  }
  const answered =
    event.type === 'request.done' ? tokenOf(event).refreshToken : (event as { refreshToken?: string }).refreshToken;
  // The one held is still the one asked with, or the one actually sent (another tab's, heard of meanwhile).
  const held = context.refreshToken;
  const stillSent = held === requestOf(event).refreshToken || held === (event as { sent?: string }).sent;
  return answered !== undefined && stillSent ? answered : held;
}

/** The same token string again keeps the expiry measured when it first came. */
function keptTimes(token: HeldToken, held: HeldToken | null): HeldToken {
  if (held === null || held.accessToken !== token.accessToken) return token;
  const { expiresAt, issuedAt, lifeStartsAt, serverOffsetMs } = held;
  return { ...token, expiresAt, issuedAt, lifeStartsAt, serverOffsetMs };
}

const lastRefreshAtAfter = ({ context, event }: Args) =>
  event.type === 'request.done' ? timeOf(event) : context.lastRefreshAt;

/** Context updates (wrapped in `assign` by the machine). */
export const updates = {
  /** The session kept from an earlier start (or another tab), with its token when it has one. */
  takeStoredSession: ({ event }: Args): Partial<SessionContext> => {
    const { stored } = readingOf(event);
    return {
      ...freshAttempts,
      session: stored!.session,
      token: stored!.token,
      refreshToken: stored!.refreshToken,
      droppedToken: null,
    };
  },
  /** No session held: the next refresh starts one (with this refresh token, or a cookie's). */
  takeRefreshToken: ({ context, event }: Args): Partial<SessionContext> => ({
    ...freshAttempts,
    session: null,
    token: null,
    droppedToken: null,
    // The session held until now ended here: other tabs' late messages of it are not taken up again.
    endedAt: context.session === null ? context.endedAt : timeOf(event),
    refreshToken: (event as { refreshToken?: string }).refreshToken ?? context.refreshToken,
  }),
  /** Adopts the first token of a session: a new identity object, so `session$` emits. */
  startSession: ({ context, event }: Args): Partial<SessionContext> => {
    const token = tokenOf(event);
    const now = timeOf(event);
    const session: SessionInfo =
      'session' in event
        ? sessionOf(event)
        : {
            sessionKey: token.sessionKey ?? context.session?.sessionKey ?? `session-${now}`,
            userId: token.userId,
            startedAt: now,
          };
    return {
      ...freshAttempts,
      session,
      token,
      // A rotation by the server keeps the refresh token its request was sent with; another tab's or a user's
      // new session brings its own, and the old session's is never sent for it.
      refreshToken: event.type === 'request.done' ? refreshTokenAfter({ context, event }) : token.refreshToken,
      droppedToken: null,
      lastRefreshAt: lastRefreshAtAfter({ context, event }),
    };
  },
  /** Keeps the session's identity object; a newer token replaces the held one. */
  storeToken: ({ context, event }: Args): Partial<SessionContext> => {
    const token = tokenOf(event);
    // An answer is newer than anything held when its request was sent; only a token that came since may win.
    const held = context.token;
    const replaces = event.type !== 'request.done' || held === null || !isNewer(held, token);
    return {
      ...freshAttempts,
      token: replaces ? keptTimes(token, held) : held,
      refreshToken: refreshTokenAfter({ context, event }),
      lastRefreshAt: lastRefreshAtAfter({ context, event }),
    };
  },
  /** Another tab's refresh token of this session, told without an access token. */
  takeToldRefreshToken: ({ event }: Args): Partial<SessionContext> => ({
    refreshToken: (event as Extract<SessionEvent, { type: 'tab.refreshToken' }>).refreshToken,
  }),
  /** An answer whose access token is not served still brings the refresh token the server rotated to. */
  keepRefreshToken: ({ context, event }: Args): Partial<SessionContext> => ({
    refreshToken: refreshTokenAfter({ context, event }),
  }),
  dropToken: ({ context }: Args): Partial<SessionContext> => ({
    reason: 'rotated',
    token: null,
    droppedToken: context.token,
  }),
  endSession: ({ event }: Args): Partial<SessionContext> => ({
    ...freshAttempts,
    session: null,
    token: null,
    refreshToken: undefined,
    droppedToken: null,
    error: errorOf(event),
    endedAt: timeOf(event),
  }),
  recordFailure: ({ context, event }: Args): Partial<SessionContext> => {
    const error = errorOf(event);
    return {
      attempt: context.attempt + 1,
      error,
      retryAfterMs: saneRetryAfterMs((error as { retryAfterMs?: unknown } | null)?.retryAfterMs),
      refreshToken: refreshTokenAfter({ context, event }),
    };
  },
  /** An answer that is no new token counts as a failed attempt; its refresh token is still kept. */
  recordNoNewToken: ({ context, event }: Args): Partial<SessionContext> => ({
    attempt: context.attempt + 1,
    retryAfterMs: undefined,
    refreshToken: refreshTokenAfter({ context, event }),
    error: new InvalidTokenError(
      context.token === null
        ? 'The refresh answered with the token the rotation dropped'
        : 'The refresh answered with the token already held',
    ),
  }),
};
