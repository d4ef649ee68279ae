import type { Observable } from 'rxjs';
import type { InspectionEvent, Observer } from 'xstate';
import type { SessionError } from './errors.js';
import type { RefreshReason, SessionInfo } from '../machines/types.js';

export type { RefreshReason, SessionInfo } from '../machines/types.js';

/** What a sign-in or a refresh hands to the engine. */
export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  /** Local-clock ms epoch. */
  expiresAt?: number;
  /** Seconds from receipt; preferred over `expiresAt`. */
  expiresIn?: number;
  sessionKey?: string;
}

export interface RefreshContext {
  session: SessionInfo | null;
  refreshToken?: string;
  reason: RefreshReason;
  signal: AbortSignal;
}

export type RefreshFunction = (ctx: RefreshContext) => Promise<TokenSet>;

export interface RetryOptions {
  baseMs?: number;
  maxMs?: number;
  factor?: number;
  jitter?: boolean;
  /**
   * Default true (the contract): a `getToken()` with no valid token starts an attempt at once, cutting any
   * backoff wait short, even while the network is known to be down. false: it rejects with `NetworkError`
   * at once instead, so retries keep to the backoff and to a server's Retry-After however many callers ask;
   * `online$`, `resume$` and `forceRefresh` still retry at once (with `broadcast`, only a forced refresh
   * reaches the server while another tab's Retry-After stands).
   */
  callersCutBackoff?: boolean;
}

export interface SessionEngineOptions {
  refresh: RefreshFunction;
  /** Default 15_000: refresh in the background this long before expiry. */
  refreshThresholdMs?: number;
  /** Default 5_000: a token this close to expiry is not served. */
  leewayMs?: number;
  retry?: RetryOptions;
  /** Default: the browser's online/offline events, or always online. */
  online$?: Observable<boolean>;
  /** Default: visibilitychange/focus/pageshow in a browser, none elsewhere. */
  resume$?: Observable<unknown>;
  /** Default ['sid', 'sessionId', 'session_id', 'refresh_token_id', 'sub']. */
  sessionKeyClaims?: readonly string[];
  /** Default false outside a browser. */
  broadcast?: false | { channel: string };
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

/** The contract's six states plus the extra documented ones. */
export type SessionStatus = 'signedOut' | 'fresh' | 'stale' | 'refreshing' | 'offline' | 'rotated' | 'restoring';

export interface SessionSnapshot {
  status: SessionStatus;
  sessionKey: string | null;
  /** Local-clock ms. */
  expiresAt: number | null;
  error: SessionError | null;
  lastRefreshAt: number | null;
}

export interface GetTokenOptions {
  forceRefresh?: boolean;
}
