import type { Observable } from 'rxjs';
import type { InspectionEvent, Observer } from 'xstate';
import type { SessionError } from './errors.js';
import type { TabEnvironment } from './tabs/environment.js';
import type { RefreshReason, SessionInfo } from '../machines/types.js';

export type { RefreshReason, SessionInfo } from '../machines/types.js';

/** What a sign-in or a refresh hands to the engine. */
export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  /** Local-clock ms epoch. */
  expiresAt?: number;
  /** Seconds from when the refresh request was sent (from receipt for `signIn`); preferred over `expiresAt`. */
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
   * Default false: while the network is down or a backoff or a server's Retry-After stands, a `getToken()` with
   * no valid token rejects with `NetworkError` at once and sends nothing, so retries keep to the backoff however
   * many callers ask (the backoff timer, `online$`, `resume$` and `forceRefresh` still try). true restores
   * v0.1's behaviour: such a caller starts an attempt at once, cutting the wait short, even while offline.
   */
  callersCutBackoff?: boolean;
}

/**
 * Where the session outlives the page or process: the Web Storage shape, sync or async, so `localStorage`,
 * React Native's `AsyncStorage` or a small file-backed object plug in as they are. It holds the refresh token.
 */
export interface TokenStorage {
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
}

export interface SessionEngineOptions {
  refresh: RefreshFunction;
  /** Default 15_000: refresh in the background this long before expiry. */
  refreshThresholdMs?: number;
  /** Default 5_000: a token this close to expiry is not served. */
  leewayMs?: number;
  retry?: RetryOptions;
  /** Default 30_000: a refresh that has not settled by then is aborted and counted as a network fault. */
  refreshTimeoutMs?: number;
  /** Default: the browser's online/offline events, or always online. */
  online$?: Observable<boolean>;
  /** Default: visibilitychange/focus/pageshow in a browser, none elsewhere. */
  resume$?: Observable<unknown>;
  /** Default ['sid', 'sessionId', 'session_id', 'refresh_token_id', 'sub']. */
  sessionKeyClaims?: readonly string[];
  /**
   * Tabs of one origin share one session over `channel`. Default: `{ channel: 'sessionchart' }` in a browser
   * page, false elsewhere. `environment`: what tabs share it through (default: BroadcastChannel, Web Locks and
   * IndexedDB; `createMemoryOrigin().tab()` for engines in one process).
   */
  broadcast?: false | { channel: string; environment?: TabEnvironment };
  /**
   * Keeps the session between starts: written on every new token before it is handed out, removed on sign-out, an
   * AuthError or a refused restore, read back when the engine starts. Default: none (with `broadcast` in a
   * browser, the tabs' IndexedDB store plays that part).
   */
  storage?: TokenStorage;
  /** Errors thrown by `subscribe`, `session$` and `token$` listeners. Default: `console.error`, without token text. */
  onError?: (error: unknown) => void;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

/** The contract's six states plus the extra documented ones. */
export type SessionStatus = 'signedOut' | 'fresh' | 'stale' | 'refreshing' | 'offline' | 'rotated' | 'restoring';

export interface SessionSnapshot {
  status: SessionStatus;
  sessionKey: string | null;
  /** The session's identity object: the same object across its refreshes, as `session$` emits it. */
  session: SessionInfo | null;
  /** Local-clock ms after which the held token is expired. */
  expiresAt: number | null;
  /** Local-clock ms from which the held token's life counts (for a refresh answer: when its request was sent). */
  issuedAt: number | null;
  error: SessionError | null;
  /** Local-clock ms of the last refresh answer. */
  lastRefreshAt: number | null;
}

export interface GetTokenOptions {
  forceRefresh?: boolean;
}
