import type { SessionError } from '../src/errors.js';
import { isFresh, isServable } from './tokenMath.js';
import type { HeldToken, SessionContext, SessionEvent, SessionInfo } from './types.js';

/** Guards and context updates of the session machine, as pure functions of (context, event). */

type Args = { context: SessionContext; event: SessionEvent | { type: string; output?: unknown; error?: unknown } };

/** Local time of an event: events carry it; a refresh result carries its time of receipt. */
export function timeOf(event: Args['event']): number {
  if ('now' in event && typeof event.now === 'number') return event.now;
  if ('at' in event && typeof event.at === 'number') return event.at;
  if ('output' in event) return (event.output as HeldToken).issuedAt;
  throw new TypeError(`event ${event.type} carries no time`);
}

function tokenOf(event: Args['event']): HeldToken {
  if ('token' in event) return event.token as HeldToken;
  return (event as { output: HeldToken }).output;
}

const errorOf = (event: Args['event']) => ('error' in event ? (event.error as SessionError) : null);

/** Newer means issued later, then expiring later: a staler token never overwrites a fresher one. */
export function isNewer(candidate: HeldToken, held: HeldToken | null): boolean {
  if (held === null) return true;
  if (candidate.issuedAt !== held.issuedAt) return candidate.issuedAt > held.issuedAt;
  return candidate.expiresAt > held.expiresAt;
}

/** When a session ended: the event's time, or (for a refused refresh, which has none) the session's start. */
export function endedAt({ context, event }: Args): number {
  return 'now' in event || 'at' in event ? timeOf(event) : (context.session?.startedAt ?? 0);
}

export const guards = {
  sharesTabs: ({ context }: Args) => context.config.shareTabs,
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
  isAuthFailure: ({ event }: Args) => errorOf(event)?.code === 'auth',
  /** Another tab's newer token of this very session. */
  isNewerTokenOfSession: ({ context, event }: Args) =>
    guards.isSameSession({ context, event }) && isNewer(tokenOf(event), context.token),
  /**
   * Another tab's session that started after ours (or after our last sign-out): a sign-in or rotation there.
   * Tabs share one clock, so start times order sessions; late messages of older sessions are ignored.
   */
  isNewerSession: ({ context, event }: Args) => {
    const session = (event as { session: SessionInfo }).session;
    if (context.session !== null) {
      return session.sessionKey !== context.session.sessionKey && session.startedAt > context.session.startedAt;
    }
    return context.endedAt === null || session.startedAt > context.endedAt;
  },
  /** A token minted since the rotation: the new session's. */
  isIssuedSinceRotation: ({ context, event }: Args) => tokenOf(event).issuedAt > (context.rotatedAt ?? 0),
  isThisSession: ({ context, event }: Args) =>
    context.session !== null && context.session.sessionKey === (event as { sessionKey: string }).sessionKey,
};

const freshAttempts = { attempt: 0, retryAfterMs: undefined, error: null } as const;

/** Context updates (wrapped in `assign` by the machine). */
export const updates = {
  /** Adopts the first token of a session: a new identity object, so `session$` emits. */
  startSession: ({ context, event }: Args): Partial<SessionContext> => {
    const token = tokenOf(event);
    const now = timeOf(event);
    const session: SessionInfo =
      'session' in event
        ? (event.session as SessionInfo)
        : {
            sessionKey: token.sessionKey ?? context.session?.sessionKey ?? `session-${now}`,
            userId: token.userId,
            startedAt: now,
          };
    return {
      ...freshAttempts,
      session,
      token,
      // A rotation (server or `rotate()`) keeps using the refresh token; another tab's or a user's new session
      // brings its own, and the old session's is never sent for it.
      refreshToken: token.refreshToken ?? ('output' in event ? context.refreshToken : undefined),
      rotatedAt: null,
      lastRefreshAt: 'output' in event ? now : context.lastRefreshAt,
    };
  },
  /** Keeps the session's identity object; only the token changes. */
  storeToken: ({ context, event }: Args): Partial<SessionContext> => {
    const token = tokenOf(event);
    return {
      ...freshAttempts,
      token,
      refreshToken: token.refreshToken ?? context.refreshToken,
      lastRefreshAt: 'output' in event ? timeOf(event) : context.lastRefreshAt,
    };
  },
  dropToken: ({ event }: Args): Partial<SessionContext> => ({ token: null, rotatedAt: timeOf(event) }),
  endSession: ({ context, event }: Args): Partial<SessionContext> => ({
    ...freshAttempts,
    session: null,
    token: null,
    refreshToken: undefined,
    rotatedAt: null,
    error: errorOf(event),
    endedAt: endedAt({ context, event }),
  }),
  recordFailure: ({ context, event }: Args): Partial<SessionContext> => {
    const error = errorOf(event);
    return {
      attempt: context.attempt + 1,
      error,
      retryAfterMs: error && 'retryAfterMs' in error ? (error.retryAfterMs as number | undefined) : undefined,
    };
  },
};
