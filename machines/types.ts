import type { SessionError } from './errors.js';

/** Why a refresh is requested; passed to the user's `refresh` as `RefreshContext.reason`. */
export type RefreshReason = 'expired' | 'stale' | 'forced' | 'rotated' | 'resume' | 'retry' | 'restore';

/** The identity of a session. One object per session: refreshes keep it, so UIs keyed on it never churn. */
export interface SessionInfo {
  readonly sessionKey: string;
  /** The token's `sub`, when it has one. */
  readonly userId: string | null;
  /** Local-clock ms when this session was adopted. */
  readonly startedAt: number;
}

/** A token as the machine holds it: every time is on the local clock, server skew already applied. */
export interface HeldToken {
  readonly accessToken: string;
  readonly refreshToken?: string;
  /** Local-clock ms after which the token is expired. */
  readonly expiresAt: number;
  /**
   * Local-clock ms from which the token's life is counted: for a refresh answer, when its request was sent
   * (the server minted it after that, so the local expiry is never later than the server's); for a sign-in,
   * when it was received. Tokens of one session are ordered by it.
   */
  readonly issuedAt: number;
  /**
   * A JWT sign-in's `iat` on the local clock, when before `issuedAt`: its life counts from there (an SDK's
   * cached token is no younger than it is), its order still from its receipt.
   */
  readonly lifeStartsAt?: number;
  /** Server clock minus local clock (ms), when the token carried `iat`. */
  readonly serverOffsetMs: number | null;
  /** The session this token belongs to; null when the token does not say (opaque tokens on refresh). */
  readonly sessionKey: string | null;
  readonly userId: string | null;
}

export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  factor: number;
  jitter: boolean;
}

export interface SessionConfig {
  refreshThresholdMs: number;
  leewayMs: number;
  retry: RetryPolicy;
  /** A caller with no valid token starts an attempt at once, even while offline or backing off (v1). */
  callersCutBackoff: boolean;
  /** A refresh that has not settled by then is aborted and counted as a network fault. */
  refreshTimeoutMs: number;
  /** Tabs of one origin share the session: start by asking them (`restoring`). */
  shareTabs: boolean;
  /** The session is kept between starts (a storage, or the tabs' store): start by reading it (`restoring`). */
  keepsSession: boolean;
}

export interface SessionContext {
  readonly config: SessionConfig;
  readonly session: SessionInfo | null;
  /** The access token; null when signed out or right after a rotation. */
  readonly token: HeldToken | null;
  /** Kept apart from `token`: a rotation drops the access token but the refresh token fetches the new one. */
  readonly refreshToken: string | undefined;
  /** The token a rotation dropped: an answer that is this very token is no token of the new session. */
  readonly droppedToken: HeldToken | null;
  readonly online: boolean;
  /** Failed refresh attempts since the last success, for the backoff. */
  readonly attempt: number;
  readonly retryAfterMs: number | undefined;
  readonly reason: RefreshReason;
  readonly error: SessionError | null;
  readonly lastRefreshAt: number | null;
  /** Local ms of the last sign-out: sessions that other tabs started before it are not adopted again. */
  readonly endedAt: number | null;
}

export interface SessionInput {
  config: SessionConfig;
  online?: boolean;
}

/** What one refresh request is sent with; its answer comes back with it, so the machine knows whose it is. */
export interface RefreshInput {
  session: SessionInfo | null;
  refreshToken: string | undefined;
  reason: RefreshReason;
  /** A token issued after this local ms (for example by another tab) satisfies the refresh. */
  satisfiedAfter: number;
}

/**
 * What the runtime's `refreshToken` actor resolves: the parsed token, or why there is none, and when the answer
 * arrived (a failure's time matters: a session it ends is ended as of then). An actor that rejects instead fails
 * as of when its request was sent.
 */
export type RefreshAnswer =
  | { token: HeldToken; receivedAt: number }
  /** `refreshToken`: one a malformed answer still carried, which replaces the one sent. */
  | { error: unknown; refreshToken?: string; receivedAt: number };

export interface RefreshTimerInput {
  /** Local-clock ms when the refresh is due, and the time it was armed at: the timer waits the difference. */
  at: number;
  now: number;
}

export interface RetryTimerInput {
  attempt: number;
  retry: RetryPolicy;
  retryAfterMs: number | undefined;
}

export interface RequestTimerInput {
  timeoutMs: number;
}

export type SessionToken = HeldToken & { readonly sessionKey: string };

/** Every event carries the local time it was observed at, so guards stay pure. */
export type SessionEvent =
  | { type: 'user.signIn'; token: SessionToken; now: number }
  | { type: 'user.signOut'; now: number }
  | { type: 'user.rotate'; now: number }
  /** `restore()` (no refresh token: a cookie session) or `signIn({ refreshToken })`: a session from one refresh. */
  | { type: 'user.restore'; refreshToken?: string; now: number }
  | { type: 'user.refresh'; now: number }
  | { type: 'user.request'; now: number }
  | { type: 'clock.check'; now: number }
  | { type: 'timer.refreshDue'; now: number }
  | { type: 'timer.retryDue'; now: number }
  | { type: 'env.online'; now: number }
  | { type: 'env.offline' }
  | { type: 'env.wake'; now: number }
  // The request child's report: every request is answered exactly once, with what it was sent with and the
  // session the answer belongs to (see `sessionOfAnswer`).
  | { type: 'request.done'; token: HeldToken; session: SessionInfo; request: RefreshInput; now: number; sent?: string }
  // A failure's time: the timeout's, or (for an answer that failed) when the request was sent.
  | {
      type: 'request.failed';
      error: SessionError;
      request: RefreshInput;
      now: number;
      refreshToken?: string;
      /** The refresh token actually sent (with tabs, the newest one stored rather than the one asked with). */
      sent?: string;
    }
  // Another tab of the same origin (see TabMessage); each is a machine event, visible in the inspector.
  | { type: 'tab.token'; token: SessionToken; session: SessionInfo; now: number }
  | { type: 'tab.signOut'; sessionKey: string; at: number }
  | { type: 'tab.rotate'; sessionKey: string; at: number }
  /**
   * A session's new refresh token without an access token (an answer a rotation withdrew), received by the other
   * tab at `at`: the tabs' store may lack it (its hand-off write may have failed), so it is told too.
   */
  | { type: 'tab.refreshToken'; session: SessionInfo; refreshToken: string; at: number }
  | { type: 'tab.hello'; now: number }
  /** The page came back from the back-forward cache and the origin's store holds no session: ended elsewhere. */
  | { type: 'tab.cleared'; now: number };

/** What the session machine tells its request child. */
export type RequestCommand =
  | { type: 'request.send'; request: RefreshInput; now: number }
  | { type: 'request.abort' }
  /**
   * A rotation came: the access token is no longer wanted. Not yet sent (waiting for the lock or reading the
   * store), the request is dropped, reported as aborted (the rotation's own request renews the refresh token);
   * sent, it runs on for its refresh token and its answer is handed off without the access token.
   */
  | { type: 'request.withdraw'; now: number }
  /**
   * Nothing of the answer is wanted: its session was left for another. Not yet sent, the request is dropped,
   * reported as aborted; sent, it runs on and nothing of its answer is handed off.
   */
  | { type: 'request.abandon'; now: number }
  /**
   * A record of the origin's sessions this tab learned besides the store (a token or refresh token another tab
   * told): the store may lag behind it, so the next lock turn goes by whichever is later.
   */
  | { type: 'request.know'; known: KnownRecord };

/** Events of the request child: commands from the session machine, its timer, and the origin's lock. */
export type RequestEvent =
  | RequestCommand
  | { type: 'timer.requestTimeout'; now: number }
  /** The origin-wide refresh lock is this tab's; `waited`: another tab held it first. */
  | { type: 'lock.granted'; waited: boolean; now: number };

/**
 * A session as it is kept for the next lock holder and the next start (times on this engine's clock): the
 * origin's newest token with its session, or, after a rotation or for a start from a refresh token alone, the
 * session's refresh token with no access token.
 */
export interface StoredSession {
  session: SessionInfo;
  token: SessionToken | null;
  /** The session's newest refresh token. */
  refreshToken?: string;
}

/** What the session machine tells the actor that keeps the session (`keepSession`). */
export type VaultCommand =
  /** `toTabs: false`: another tab's session, which that tab already wrote to the tabs' store. */
  | { type: 'vault.save'; stored: StoredSession; toTabs?: false }
  | { type: 'vault.clear' };

/** What `readSession` found kept from an earlier start, and when it looked. */
export interface SessionReading {
  stored: StoredSession | null;
  now: number;
}

/** The origin's last failed attempt, for the tabs that queued on the lock behind it. */
export interface StoredFailure {
  at: number;
  sessionKey: string | null;
  code: 'network' | 'invalid_token';
  retryAfterMs?: number;
}

/**
 * A record this tab knows of besides the tabs' store, and when its refresh token was received (engine ms): that
 * orders a record without an access token against a stored token of its session.
 */
export interface KnownRecord {
  record: StoredSession;
  at: number;
}

/** What the request child found in the origin's store once it held the lock. */
export interface StoreReading {
  newest: StoredSession | null;
  failure: StoredFailure | null;
  now: number;
}

export interface RequestInput {
  config: SessionConfig;
}

/** What this tab tells the others, sent to the invoked `syncTabs` actor. */
export type TabAnnouncement =
  | { type: 'announce.token'; token: SessionToken; session: SessionInfo }
  | { type: 'announce.signOut'; sessionKey: string; at: number }
  | { type: 'announce.rotate'; sessionKey: string; at: number }
  | { type: 'announce.refreshToken'; session: SessionInfo; refreshToken: string; at: number }
  | { type: 'announce.hello' };
