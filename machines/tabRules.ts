import { InvalidTokenError, NetworkError, saneRetryAfterMs, type SessionError } from './errors.js';
import { isFresh, isServable } from './tokenMath.js';
import type { KnownRecord, RefreshInput, SessionConfig, SessionInfo, StoredFailure, StoredSession } from './types.js';

/**
 * The rules tabs of one origin share a session by, written once for the session machine (another tab's
 * message) and its request child (what another tab stored). Pure functions; every time is the engine's.
 */

/**
 * The same session as another tab knows it: its key and when it started. A session started anew under the same
 * key (a sign-in again, a rotation that kept the key) is another one, and so are the tokens issued for it.
 */
export const isSameInstance = (held: SessionInfo | null, other: SessionInfo | null): boolean =>
  held !== null && other !== null && held.sessionKey === other.sessionKey && held.startedAt === other.startedAt;

/** Another instance, started after `than`: tabs share one clock, so start times order sessions. */
export const isLaterInstance = (other: SessionInfo, than: SessionInfo | null): boolean =>
  !isSameInstance(than, other) && other.startedAt > (than?.startedAt ?? 0);

/**
 * What the tabs' store holds is never replaced by something older: a later session, or a later token of the same
 * session, stays. Writes outside the lock (a sign-in, a rotation, a session written again after a late answer)
 * can reach the store after a lock holder's hand-off; the next lock holder must still find the newest.
 */
export function isSupersededBy(record: StoredSession, stored: StoredSession | null): boolean {
  if (stored === null) return false;
  if (isLaterInstance(stored.session, record.session)) return true;
  return (
    isSameInstance(stored.session, record.session) &&
    stored.token !== null &&
    record.token !== null &&
    stored.token.issuedAt > record.token.issuedAt
  );
}

/**
 * What a request under the lock goes by: the store, unless this tab knows of something later that the store lacks
 * (a hand-off write that failed, its own or one another tab told of): a later session, or of the same session a
 * later token, or a refresh token received after the stored token was issued. A record without an access token
 * is taken over a stored one without either: the store cannot order them, and what this tab knows is never older
 * than what it last wrote. A tie goes to the store.
 */
export function newestRecord(stored: StoredSession | null, known: KnownRecord | null): StoredSession | null {
  if (known === null) return stored;
  const { record, at } = known;
  if (stored === null || isLaterInstance(record.session, stored.session)) return record;
  if (!isSameInstance(record.session, stored.session)) return stored;
  if (stored.token === null) return record.token === null ? record : stored;
  return (record.token?.issuedAt ?? at) > stored.token.issuedAt ? record : stored;
}

/**
 * What another tab stored answers this request, so it is never sent: for a rotation, a later session than the
 * rotated one; for a restore, that or a servable token of its own session; else a token of this very session
 * issued since the one the request would replace, still fresh.
 */
export function storeAnswers(stored: StoredSession, request: RefreshInput, now: number, config: SessionConfig): boolean {
  const { token } = stored;
  if (token === null) return false;
  // A later session: another tab rotated or restored it already. Taken up even when its token is no longer
  // servable: this tab then renews that session (a refresh of it) rather than rotating, or restoring, again
  // with its refresh token, which would start yet another session over a refresh token the first one spent.
  const laterSession = isLaterInstance(stored.session, request.session);
  const newerToken = isSameInstance(stored.session, request.session) && token.issuedAt > request.satisfiedAfter;
  if (request.reason === 'rotated') return laterSession;
  // A restore takes whatever another tab holds now, of its session or a later one.
  if (request.reason === 'restore') return laterSession || (newerToken && isServable(token, now, config.leewayMs));
  return newerToken && isFresh(token, now, config);
}

/**
 * The refresh token to send: the newest one this session's tabs stored, so a spent one is never sent again; but
 * not one stored with a token older than the one the request replaces (a write that failed): that one may be spent.
 */
export function refreshTokenToSend(stored: StoredSession | null, request: RefreshInput): string | undefined {
  const asNew = stored !== null && (stored.token === null || stored.token.issuedAt >= request.satisfiedAfter);
  // For a rotation's fetch, a later session's too: the fetch that started it was sent with this session's newest.
  const ours =
    stored !== null &&
    (isSameInstance(stored.session, request.session) ||
      (request.reason === 'rotated' && isLaterInstance(stored.session, request.session)));
  const newest = asNew && ours ? stored.refreshToken : undefined;
  return newest ?? request.refreshToken;
}

/** How this tab came by the lock: when it asked, and whether another tab held it meanwhile. */
export interface LockTurn {
  askedAt: number;
  waited: boolean;
}

/**
 * A failure another tab recorded that this request shares instead of trying again: the tabs that queued on the
 * lock while its holder failed fail with it (its Retry-After included), so a failed attempt costs the server one
 * request, not one per tab. A tab that got the lock at once tries, unless callers keep to the backoff and the
 * server's Retry-After still stands (a forced refresh, asked for explicitly, still tries).
 */
export function sharedFailure(
  failure: StoredFailure | null,
  request: RefreshInput,
  turn: LockTurn,
  now: number,
  config: SessionConfig,
): SessionError | null {
  if (failure === null || failure.sessionKey !== (request.session?.sessionKey ?? null)) return null;
  // Counted as the backoff counts it: only finite and positive, for an hour at most.
  const retryAfterLeftMs = failure.at + (saneRetryAfterMs(failure.retryAfterMs) ?? 0) - now;
  const left = retryAfterLeftMs > 0 ? retryAfterLeftMs : undefined;
  if (turn.waited && failure.at >= turn.askedAt) {
    return failure.code === 'invalid_token'
      ? new InvalidTokenError('Another tab just failed to refresh: the answer was malformed')
      : new NetworkError('Another tab just failed to refresh', { retryAfterMs: left });
  }
  const keepsRetryAfter = !config.callersCutBackoff && request.reason !== 'forced';
  return keepsRetryAfter && left !== undefined
    ? new NetworkError('Another tab was told to wait', { retryAfterMs: left })
    : null;
}

/**
 * The session an answer belongs to: the one its request was sent for, unless the token names another or the
 * request fetched a rotation's new session, which starts now (so every tab that hears of it knows it alike).
 */
export function sessionOfAnswer(request: RefreshInput, token: { sessionKey: string | null; userId: string | null }, now: number): SessionInfo {
  const sent = request.session;
  const sameKey = token.sessionKey === null || token.sessionKey === sent?.sessionKey;
  if (sent !== null && sameKey && request.reason !== 'rotated') return sent;
  return { sessionKey: token.sessionKey ?? sent?.sessionKey ?? `session-${now}`, userId: token.userId, startedAt: now };
}
