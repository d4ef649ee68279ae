import type { SessionEngine } from '../engine/engine.js';
import type { RefreshContext, RefreshFunction, TokenSet } from '../types.js';
import type { ServerSession } from './sessions.js';

/**
 * What the token server does instead of answering a request normally:
 * - `down`: the connection fails (`fetch` rejects with a TypeError), after `afterMs` (default 0);
 * - `5xx`: an error status (default 503), nothing spent;
 * - `429`: Too Many Requests with a Retry-After, nothing spent;
 * - `slow`: answered normally, `latencyMs` late;
 * - `hang`: no answer until the client gives up (or, for `server.fault`, until the fault is lifted);
 * - `garbage`: a 200 whose body is no token response (a proxy's error page), nothing spent.
 */
export type Fault =
  | { kind: 'down'; afterMs?: number }
  | { kind: '5xx'; status?: number }
  | { kind: '429'; retryAfterSeconds: number }
  | { kind: 'slow'; latencyMs: number }
  | { kind: 'hang' }
  | { kind: 'garbage' };

export interface TokenServerOptions {
  /** Access token life in seconds. Default 60. */
  lifeSeconds?: number;
  /** The server's clock minus the local one, ms: its `iat` and `exp` are read on its own clock. Default 0. */
  skewMs?: number;
  /** The local clock the server's runs from. Default `Date.now` (so fake timers move it). */
  clock?: () => number;
  /** How long a replaced refresh token is still granted (answered with the current one); later a replay revokes the session. Default 0. */
  reuseGraceMs?: number;
  /** How long an answer takes to come back, ms, or a function drawn once per answer. Default 0: at once. */
  latencyMs?: number | (() => number);
  /** The fault for a request received at local time `now`, when no other fault is set. */
  faultAt?: (now: number) => Fault | null;
  /** `rotate` (default): every answer hands out a new refresh token. `omit`: none unless a test names one. */
  refreshTokens?: 'rotate' | 'omit';
  /** The `sub` claim of its tokens. Default 'user-1'. */
  subject?: string;
  /** The HMAC secret. Default: random, per server. */
  secret?: string;
  /** How many requests, access tokens and replaced refresh tokens per session it remembers (a long simulation bounds its memory). Default: all. */
  remember?: number;
  /** How many requests `requests` keeps (a simulation that reads only `counters` and `subscribe` can keep none). Default: `remember`. */
  rememberRequests?: number;
}

/** A token set as the server mints it; every field is optional. */
export interface IssueOptions {
  /** The session: by default the request's (a new one for a sign-in); a key no session has yet starts or (in an answer) rotates to one; null: no `sid` claim, `sub` names the session. */
  sid?: string | null;
  sub?: string;
  lifeSeconds?: number;
  /** Minted this long ago: `iat` in the past, as a token from an SDK's cache or a store. */
  ageSeconds?: number;
  /** Claims as if the server's clock were this far ahead of the local one (instead of the server's own skew). */
  skewMs?: number;
  /** The refresh token handed out: a new one by default (none with `refreshTokens: 'omit'`); false: none. */
  refreshToken?: string | false;
  /** An opaque access token (not a JWT) with `expiresIn`; its session is named only by a string `sid`. */
  opaque?: boolean;
  /** Opaque only: a local-clock expiry instead of `expiresIn`. */
  expiresAt?: number;
}

/** What the server knows of an access token it issued. */
export interface IssuedToken {
  /** The session key an engine reads from it (the `sid`, else the `sub`); null for an opaque token naming none. */
  readonly sessionKey: string | null;
  readonly session: ServerSession;
  /** Server-clock ms when it was minted (less its age): its life counts from here. */
  readonly issuedAt: number;
  /** Server-clock ms when its life is over. */
  readonly expiresAt: number;
  /** Its place in the server's order of events: the request that brought it, else its minting. */
  readonly order: number;
}

/** How a request ended. */
export type Outcome =
  | { kind: 'token'; set: TokenSet }
  /** Refused: an unknown, revoked or replayed refresh token (`invalid_grant`). */
  | { kind: 'refused' }
  | { kind: 'fault'; fault: Fault }
  /** `resolve(value)`: whatever the test chose, as it is. */
  | { kind: 'value'; value: unknown }
  /** `fail(error)` with an error of the test's choosing. */
  | { kind: 'error'; error: unknown }
  /** The client gave up (its signal aborted) before an answer reached it. */
  | { kind: 'aborted' };

/** `held`: waiting for `release()`; `sent`: processed, its answer on the way; `hanging`: under a `hang` fault. */
export type RequestState = 'held' | 'hanging' | 'sent' | 'settled';

/** One refresh request the server received, in process or over HTTP. */
export interface TokenRequest {
  /** Its place in the server's order of events. */
  readonly id: number;
  /** Who sent it: `refreshFor(client)`, an HTTP request's `x-client` header; 'default' and 'http' otherwise. */
  readonly client: string;
  readonly refreshToken: string | undefined;
  /** Local ms when it arrived. */
  readonly at: number;
  readonly signal: AbortSignal;
  /** What the engine sent it with, for a request made in process. */
  readonly ctx?: RefreshContext;
  readonly state: RequestState;
  readonly settled: boolean;
  readonly outcome: Outcome | undefined;
  /** Whether its answer reached the client: never for an aborted one. */
  readonly delivered: boolean;
  /** Lets a held request reach the server, which answers it by its rules. */
  release(): void;
  /** Answers now with a token set the test describes (in the request's session unless `sid` says another). */
  respond(options?: IssueOptions): TokenSet;
  /** Answers now with a fault (default `down`: a network failure) or, in process, rejects with `error` itself. */
  fail(error?: Fault | Error): void;
  /** Answers now with `value` as it is (a malformed answer, a token set of the test's making). */
  resolve(value: unknown): void;
}

/** A request made through `server.refresh` or `refreshFor`: the engine's `RefreshContext` too. */
export interface RefreshCall extends TokenRequest {
  readonly ctx: RefreshContext;
}

export interface TokenServerCounters {
  /** Requests received, answered or not. */
  requests: number;
  /** Answered with a token. */
  granted: number;
  /** Refused: an unknown, revoked or replayed refresh token. */
  refused: number;
  /** Refresh tokens presented after an answer had replaced them (inside the grace window or not). */
  replays: number;
  /** Answered with a fault (down, 5xx, 429, garbage). */
  faults: number;
  /** Given up by the client before an answer reached it. */
  aborted: number;
  signIns: number;
  inFlight: number;
  maxInFlight: number;
  /** Requests that arrived before the Retry-After of the last 429 had passed, and by how much at most (ms). */
  earlyRetries: number;
  earlyRetryMaxMs: number;
}

export type ServerEvent = { type: 'request'; request: TokenRequest } | { type: 'settled'; request: TokenRequest };

/** An OAuth 2.0 token response (RFC 6749, 5.1), as `POST /token` answers it. */
export interface TokenResponseBody {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
}

/** An answer as it travels over HTTP; `down` never makes one (the connection fails). */
export interface TokenReply {
  status: number;
  body: unknown;
  /** A 429's Retry-After, seconds. */
  retryAfterSeconds?: number;
}

/** Whether a server accepts an access token now (or at `at`, server-clock ms); never throws. */
export type Verification =
  | { ok: true; sid: string | null; sub: string; jti: string; exp: number }
  | { ok: false; reason: 'malformed' | 'bad_signature' | 'unknown' | 'revoked' | 'expired' };

export interface TokenServer {
  /** The engine's `refresh`: the request is received, judged by the server's rules, answered as `sessionchart/oauth` settles. */
  readonly refresh: RefreshFunction;
  /** The same, with its requests labelled `client` (one per tab or app, to tell whose request is whose). */
  refreshFor(client: string): RefreshFunction;
  /** One `POST /token` as HTTP would answer it (status, OAuth body, Retry-After); rejects as `fetch` does for `down`. */
  exchange(refreshToken: string | undefined, options?: { signal?: AbortSignal; client?: string }): Promise<TokenReply>;
  /** A new session's token set, as a sign-in hands it out (or another token of `sid`'s session). */
  signIn(options?: IssueOptions): TokenSet;
  /** Server-clock ms. */
  now(): number;
  lifeSeconds: number;
  skewMs: number;
  latencyMs: number | (() => number);
  /** A fault every request meets until it is set back to null (lifting a `hang` lets the hanging requests go on). */
  fault: Fault | null;
  /** The next `count` requests meet `fault`, before any standing one. */
  failNext(fault: Fault, count?: number): void;
  /** While on, every request waits unprocessed until `release()` (or `respond`, `fail`, `resolve`). */
  holdRequests(on?: boolean): void;
  /** The next request waits unprocessed until `release()`; resolves with it once it has arrived. */
  holdNext(): Promise<TokenRequest>;
  /** Resolves with the next request to arrive. */
  nextRequest(): Promise<TokenRequest>;
  /** A rotation on the server: the session's next token carries a new `sid`, which this returns. */
  rotateSession(sid: string): string;
  /** Revokes the session: its refresh tokens are refused, its access tokens fail `verify`. */
  revoke(sid: string): void;
  verify(accessToken: string | null, at?: number): Verification;
  /** What the server knows of an access token it issued (undefined for one it never did, or forgot). */
  issued(accessToken: string): IssuedToken | undefined;
  /** The session that has (or had) the key `sid`, or whose refresh token this is. */
  session(sid: string): ServerSession | undefined;
  sessionOfRefreshToken(refreshToken: string): ServerSession | undefined;
  /** Every request received, oldest first (the last `rememberRequests` of them). */
  readonly requests: readonly TokenRequest[];
  /** Requests not settled yet. */
  inFlight(): TokenRequest[];
  readonly counters: Readonly<TokenServerCounters>;
  /** Told of every request as it arrives and as it settles; returns the unsubscribe. */
  subscribe(listener: (event: ServerEvent) => void): () => void;
  /** A new number in the server's order of events (an invariant checker orders session ends with it). */
  stamp(): number;
}

/** A break of one of the contract's invariants, as the checker saw it. */
export interface Violation {
  /** The contract's invariant, 1 to 8 (2 also for a token the server never issued). */
  readonly invariant: 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;
  /** Local ms (`Date.now()`) when it was seen. */
  readonly at: number;
  /** What showed it: `getToken`, `restore`, `peekToken`, `token$`, `session$`, `request`, `abort` or `held` (`checkHeld`). */
  readonly event: string;
  /** What happened, naming the engine or the request's client; never token text. */
  readonly message: string;
  /** Invariant 7 only: the replayed refresh token is of a session no watched engine holds any more. */
  readonly sessionLeft?: boolean;
}

export interface InvariantCheckerOptions {
  /** The engines' `refreshTimeoutMs`: a caller waiting longer breaks invariant 8, a request aborted sooner 7. Default 30_000. */
  refreshTimeoutMs?: number;
  /** The clock timers run by (waits, timeouts). Default `Date.now`; a test that puts the laptop to sleep passes its own. */
  timerNow?: () => number;
  /** Requests that share one lock (one engine, or the tabs of one origin): at most one in flight per group. Default: one group. */
  groupOf?: (request: TokenRequest) => string;
}

export interface InvariantChecker {
  /** Everything seen so far, oldest first (reading it also checks the callers still waiting). */
  readonly violations: readonly Violation[];
  /** Watches one more engine (a reload, a tab opened later). Its requests are the ones made with `refreshFor(name)`. */
  watch(engine: SessionEngine, name?: string): void;
  /** A tab outside the watched engines ended (`signOut`) or rotated (`rotate`) the session they hold. */
  sessionEndedElsewhere(how: 'signOut' | 'rotate'): void;
  /** A tab outside the watched engines started a session the watched ones may take up. */
  sessionStartedElsewhere(sessionKey: string): void;
  /** Whether the server issued `accessToken`, and whether its session has ended since it was born. */
  judge(accessToken: string): { issued: boolean; dead: boolean; sessionKey: string | null };
  /**
   * Invariant 4 in full, for a test that moves time and answers itself: call it once promise callbacks have run
   * (`flushPromises()`) with no timer moved and no answer released since the calls it judges. Every `getToken()` or
   * `restore()` made while a valid token was held must have settled by then, with a token.
   */
  checkHeldTokenCalls(): void;
  /**
   * Invariants 2 and 6 on what each watched engine holds now (its actor's context), served or not: a token the
   * server issued, of a session that has not ended, under the session key it was issued for; nothing kept once
   * signed out.
   */
  checkHeld(): void;
  /** Stops watching: the engines' methods are theirs again. */
  stop(): void;
}
