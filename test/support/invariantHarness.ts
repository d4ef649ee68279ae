import { BehaviorSubject, Subject, type Subscription } from 'rxjs';
import { vi } from 'vitest';
import { createSessionEngine, type SessionEngine } from '../../src/index.js';
import type { RefreshContext, SessionEngineOptions, TokenSet } from '../../src/types.js';
import type { SessionConfig, SessionInfo } from '../../machines/types.js';
import { resolveConfig } from '../../src/engine/options.js';
import { mint } from './tokens.js';

/**
 * A real engine wired to a controllable `refresh`, `online$` and `resume$`, that checks the contract's eight
 * invariants: on every value served (getToken, peekToken, token$), on every refresh call and abort, and after
 * every step a test brackets with `begin()` / `end()`. Violations are collected as readable strings.
 *
 * Liveness of tokens is kept by birth order: a kill (sign-out, rotation, adoption of another session) makes
 * every token born before it dead; a refresh answer is born when its request was made.
 *
 * Three clocks: the wall clock (`Date.now()`, which a test may set back), real time (the wall clock plus every
 * set-back: what expiry is judged by) and timer time (real time less sleeps, during which no timer runs: what
 * `refreshTimeoutMs` is measured in). Move them with `sleep`, `setClockBack` and `advance`.
 */

export interface RefreshCall {
  readonly ctx: RefreshContext;
  /** Birth of whatever this request returns. */
  readonly born: number;
  /** Timer time when the engine made the call. */
  readonly startedAt: number;
  /** The answer was handed to the engine (or the call will never be answered). */
  released: boolean;
  resolve(set: unknown): void;
  reject(error: unknown): void;
}

export type RefreshAnswer =
  | { kind: 'token'; set: TokenSet; lifeMs: number; sessionKey: string | null }
  /** Something `parseTokenSet` refuses: a failed attempt recorded as InvalidTokenError. */
  | { kind: 'garbage'; value: unknown }
  | { kind: 'error'; error: unknown; auth: boolean };

export interface TokenSpec {
  sessionKey: string | null;
  lifeS: number;
  skewMs?: number;
  /** An opaque token with `expiresIn` instead of a JWT. */
  opaque?: boolean;
}

interface Entry {
  expiresAt: number;
  born: number;
  /** The session the token names; null when it names none (an opaque token of the current session). */
  sessionKey: string | null;
}

interface Step {
  label: string;
  signOutAllowed: boolean;
  identityChangeAllowed: boolean;
  wasSignedOut: boolean;
  session: SessionInfo | null;
}

export interface Tracked {
  settled: boolean;
  value: string | null | undefined;
  error: unknown;
  /** Timer time when the call was made. */
  startedAt: number;
}

export interface InvariantHarnessOptions {
  engine?: Partial<Omit<SessionEngineOptions, 'refresh' | 'online$' | 'resume$'>>;
  /** The server's clock minus the real one, for every token it mints (one server, one clock). */
  serverSkewMs?: number;
  /** The promise `refresh` returns for a call; by default a deferred settled with `settle()`. */
  answer?: (call: RefreshCall) => Promise<TokenSet>;
}

let opaqueCount = 0;
let refreshTokenCount = 0;

/** Lets promise callbacks run, and nothing else: no fake timer moves, no refresh answers. */
export async function flushMicrotasks(rounds = 60): Promise<void> {
  for (let i = 0; i < rounds; i += 1) await Promise.resolve();
}

/** A token set as the server would send it now; `sessionKey` is the key the engine will read from it. */
export function tokenSetFor(spec: TokenSpec): { set: TokenSet; lifeMs: number; sessionKey: string | null } {
  const lifeMs = spec.lifeS * 1000;
  // Every answer rotates the refresh token, as the providers that revoke a family on replay do.
  const refreshToken = `rt-${(refreshTokenCount += 1)}`;
  if (spec.opaque) {
    const accessToken = `opaque-${(opaqueCount += 1)}`;
    const set = { accessToken, refreshToken, expiresIn: spec.lifeS, ...(spec.sessionKey ? { sessionKey: spec.sessionKey } : {}) };
    return { set, lifeMs, sessionKey: spec.sessionKey };
  }
  // With no `sid`, the engine falls back to `sub` (mint's 'user-1').
  const set = mint({ life: spec.lifeS, sid: spec.sessionKey, skewMs: spec.skewMs ?? 0, refreshToken });
  return { set, lifeMs, sessionKey: spec.sessionKey ?? 'user-1' };
}

export class InvariantHarness {
  readonly online$ = new BehaviorSubject(true);
  readonly resume$ = new Subject<void>();
  readonly calls: RefreshCall[] = [];
  readonly violations: string[] = [];
  private live: SessionEngine;
  /** Makes the engine: once, and again on each reload (a new engine on the same storage). */
  private readonly makeEngine: () => SessionEngine;
  private readonly keepsSession: boolean;
  /** One server clock for every token, when given (else each spec's own skew). */
  private readonly serverSkewMs: number | undefined;
  private readonly tokens = new Map<string, Entry>();
  /** The token sets handed out, by access token: what a server answering "the same token again" sends. */
  private readonly sets = new Map<string, TokenSet>();
  /** Refresh tokens a request sent and whose answer brought a newer one: never to be sent again (invariant 7). */
  private readonly spent = new Set<string>();
  private births = 0;
  private lastKill = -1;
  private step: Step | null = null;
  private stopping = false;
  private setBackMs = 0;
  /** The part of `setBackMs` the current engine has seen (a reloaded engine starts on the wall clock). */
  private engineSetBackMs = 0;
  private sleptMs = 0;
  private readonly timeoutMs: number;
  private readonly config: SessionConfig;
  private readonly mustSettle: Array<{ tracked: Tracked; label: string }> = [];
  private readonly waiting: Array<{ tracked: Tracked; label: string }> = [];
  private subscription: Subscription;

  constructor(options: InvariantHarnessOptions = {}) {
    const answer =
      options.answer ??
      ((call) => new Promise<TokenSet>((resolve, reject) => Object.assign(call, { resolve, reject })));
    this.config = resolveConfig({ ...options.engine, refresh: () => Promise.reject(new Error('unused')) });
    this.timeoutMs = this.config.refreshTimeoutMs;
    this.keepsSession = this.config.keepsSession;
    this.serverSkewMs = options.serverSkewMs;
    const refresh = (ctx: RefreshContext) => {
      const inFlight = this.inFlight();
      if (inFlight.length > 0)
        this.violate(`3: refresh (${ctx.reason}) called while ${inFlight.length} other(s) in flight`);
      if (ctx.refreshToken !== undefined && this.spent.has(ctx.refreshToken)) {
        this.violate(`7: refresh (${ctx.reason}) sent a refresh token that an answer had already replaced`);
      }
      const call: RefreshCall = {
        ctx,
        born: this.birth(),
        startedAt: this.timerNow(),
        released: false,
        resolve: () => {},
        reject: () => {},
      };
      ctx.signal.addEventListener('abort', () => this.checkAbort(call));
      this.calls.push(call);
      return answer(call);
    };
    this.makeEngine = () => createSessionEngine({ ...options.engine, refresh, online$: this.online$, resume$: this.resume$ });
    this.live = this.makeEngine();
    this.subscription = this.live.token$.subscribe((token) => this.checkServed(token, 'token$'));
  }

  get engine(): SessionEngine {
    return this.live;
  }

  /** The page reloads: the engine stops (its request aborted, as `stop()` may) and a new one starts on the same storage. */
  reload(): void {
    // With nothing to keep it, the session is gone with the page.
    if (!this.keepsSession) this.allow({ signOut: true });
    this.stop();
    this.stopping = false;
    this.engineSetBackMs = 0;
    this.live = this.makeEngine();
    this.subscription = this.live.token$.subscribe((token) => this.checkServed(token, 'token$'));
  }

  /** The engine's clock: the wall clock plus the set-backs this engine has seen. */
  engineNow(): number {
    return Date.now() + this.engineSetBackMs;
  }

  /** What expiry is judged by: the wall clock plus every set-back. */
  realNow(): number {
    return Date.now() + this.setBackMs;
  }

  /** What timers and `refreshTimeoutMs` run by: real time less the sleeps. */
  timerNow(): number {
    return this.realNow() - this.sleptMs;
  }

  /**
   * Laptop sleep: the clock jumps, no timer runs. The engine reads its clock at once (as any read would), so
   * its clock and `realNow()` agree: what the engine sees of clock moves is then exactly what happened.
   */
  sleep(ms: number): void {
    this.sleptMs += ms;
    vi.setSystemTime(Date.now() + ms);
    this.engine.peekToken();
  }

  /** The wall clock is set back; real time goes on, and so does the engine's clock once it reads it. */
  setClockBack(ms: number): void {
    this.setBackMs += ms;
    this.engineSetBackMs += ms;
    vi.setSystemTime(Date.now() - ms);
    this.engine.peekToken();
  }

  /** Time passes, timers run. */
  advance(ms: number): Promise<unknown> {
    return vi.advanceTimersByTimeAsync(ms);
  }

  /**
   * `getSnapshot()`: a pure read (the actor hears nothing of it) that never says `fresh` for a token the clock
   * says is stale or expired (judged on the wall clock, as the snapshot's times are).
   */
  checkSnapshot(): void {
    const before = this.engine.actor.getSnapshot();
    const snapshot = this.engine.getSnapshot();
    if (this.engine.actor.getSnapshot() !== before) this.violate('getSnapshot() moved the machine');
    if (snapshot.status !== 'fresh') return;
    const { expiresAt, issuedAt } = snapshot;
    const lead = Math.min(this.config.refreshThresholdMs, (expiresAt! - issuedAt!) / 2);
    if (Date.now() >= expiresAt! - lead) this.violate('getSnapshot() says fresh for a token the clock says is not');
  }

  /** The token set handed out with this access token (what a caching server would answer again). */
  setOf(accessToken: string): TokenSet | undefined {
    return this.sets.get(accessToken);
  }

  /** Requests whose answer the engine still waits for (aborted ones are not in flight). */
  inFlight(): RefreshCall[] {
    return this.calls.filter((call) => !call.released && !call.ctx.signal.aborted);
  }

  current(): RefreshCall | undefined {
    return this.inFlight()[0];
  }

  birth(): number {
    return (this.births += 1);
  }

  /** Every token born so far belongs to a session that has ended or been rotated away. */
  kill(): void {
    this.lastKill = this.birth();
  }

  bornOf(accessToken: string | undefined): number | undefined {
    return accessToken === undefined ? undefined : this.tokens.get(accessToken)?.born;
  }

  get killedAt(): number {
    return this.lastKill;
  }

  register(accessToken: string, token: { expiresAt: number; sessionKey: string | null; born?: number }, set?: TokenSet): void {
    if (set) this.sets.set(accessToken, set);
    this.tokens.set(accessToken, {
      expiresAt: token.expiresAt,
      sessionKey: token.sessionKey,
      born: token.born ?? this.birth(),
    });
  }

  /** Starts a step: its allowances say whether it may end the session or change its identity. */
  begin(label: string, allow: { signOut?: boolean; identity?: boolean } = {}): void {
    const snapshot = this.engine.actor.getSnapshot();
    this.step = {
      label,
      signOutAllowed: allow.signOut ?? false,
      identityChangeAllowed: allow.identity ?? allow.signOut ?? false,
      // No session to end: signed out already, or restoring one that may not exist.
      wasSignedOut: snapshot.matches('signedOut') || snapshot.context.session === null,
      session: snapshot.context.session,
    };
  }

  allow(allow: { signOut?: boolean; identity?: boolean }): void {
    if (!this.step) return;
    if (allow.signOut) this.step.signOutAllowed = true;
    if (allow.identity || allow.signOut) this.step.identityChangeAllowed = true;
  }

  /** Ends a step: checks the invariants that hold between steps. */
  end(): void {
    const step = this.step;
    if (!step) throw new Error('end() without begin()');
    this.step = null;
    const snapshot = this.engine.actor.getSnapshot();
    const { session, token, refreshToken } = snapshot.context;
    const where = `after ${step.label}`;
    this.checkServed(this.engine.peekToken(), `peekToken ${where}`);
    if (token) {
      const entry = this.tokens.get(token.accessToken);
      if (!entry) this.violate(`2: ${where} the engine holds a token nobody issued`);
      else if (entry.born < this.lastKill) this.violate(`2: ${where} the engine holds a token of an ended session`);
      else if (entry.sessionKey !== null && entry.sessionKey !== session?.sessionKey) {
        this.violate(
          `6: ${where} the engine holds a token of ${entry.sessionKey} as session ${session?.sessionKey ?? 'none'}`,
        );
      }
    }
    if (snapshot.matches('signedOut') && (session !== null || token !== null || refreshToken !== undefined)) {
      this.violate(`2: ${where} signedOut still stores the session, its token or its refresh token`);
    }
    if (this.inFlight().length > 1) this.violate(`3: ${where} ${this.inFlight().length} refreshes in flight`);
    for (const { tracked, label } of this.waiting) {
      if (!tracked.settled && this.timerNow() - tracked.startedAt > this.timeoutMs) {
        this.violate(`8: ${where} ${label} has waited ${this.timerNow() - tracked.startedAt} ms on the network`);
      }
    }
    if (!step.wasSignedOut && snapshot.matches('signedOut') && !step.signOutAllowed) {
      this.violate(`5: ${where} the session ended without signOut() or an AuthError`);
    }
    // Invariant 6 is about a session's refreshes: a session taken up where there was none changes nothing held.
    if (!step.identityChangeAllowed && step.session !== null && session !== step.session) {
      this.violate(
        `6: ${where} the session changed (${step.session?.sessionKey ?? 'none'} -> ${session?.sessionKey ?? 'none'})`,
      );
    }
  }

  /** A token set as the server would send it now: the server's clock is never set back with ours. */
  mint(spec: TokenSpec): { set: TokenSet; lifeMs: number; sessionKey: string | null } {
    return tokenSetFor({ ...spec, skewMs: (this.serverSkewMs ?? spec.skewMs ?? 0) + this.setBackMs });
  }

  signIn(spec: TokenSpec): TokenSet {
    const { set, lifeMs, sessionKey } = this.mint(spec);
    // Another session's token (an opaque one without a key starts a new session too) rotates the old away.
    if (sessionKey === null || sessionKey !== this.engine.actor.getSnapshot().context.session?.sessionKey) this.kill();
    this.register(set.accessToken, { expiresAt: this.realNow() + lifeMs, sessionKey }, set);
    this.engine.signIn(set);
    return set;
  }

  /** `signIn({ refreshToken })`: a new session (the old one's tokens are dead) from one refresh. */
  signInRefreshToken(): void {
    this.kill();
    this.engine.signIn({ refreshToken: `rt-signin-${this.birth()}` });
  }

  signOut(): void {
    this.kill();
    this.engine.signOut();
  }

  rotate(): void {
    this.kill();
    this.engine.rotate();
  }

  /** getToken (or `restore()`), checked when it settles; with a valid token held it must settle on microtasks alone. */
  getToken(forceRefresh = false, restore = false): Tracked {
    const label = restore ? 'restore()' : forceRefresh ? 'getToken({ forceRefresh })' : 'getToken()';
    const validHeld = !forceRefresh && this.engine.peekToken() !== null;
    const tracked: Tracked = { settled: false, value: undefined, error: undefined, startedAt: this.timerNow() };
    const settled = () => {
      tracked.settled = true;
      const waited = this.timerNow() - tracked.startedAt;
      if (waited > this.timeoutMs) this.violate(`8: ${label} settled after waiting ${waited} ms on the network`);
    };
    const asked = restore ? this.engine.restore() : this.engine.getToken(forceRefresh ? { forceRefresh } : undefined);
    asked.then(
      (value) => {
        tracked.value = value;
        settled();
        this.checkServed(value, label);
      },
      (error: unknown) => {
        tracked.error = error;
        settled();
        const code = (error as { code?: unknown }).code;
        if (code !== 'network' && code !== 'aborted' && code !== 'invalid_token') {
          this.violate(`${label} rejected with ${String(code ?? error)}`);
        }
      },
    );
    if (validHeld) this.mustSettle.push({ tracked, label });
    this.waiting.push({ tracked, label });
    return tracked;
  }

  /** After a microtask flush: calls made while a valid token was held must have settled with a token. */
  checkSettledWithoutWaiting(): void {
    for (const { tracked, label } of this.mustSettle.splice(0)) {
      if (!tracked.settled) this.violate(`4: ${label} with a valid token held did not settle on microtasks`);
      else if (tracked.value == null) this.violate(`4: ${label} with a valid token held did not answer it`);
    }
  }

  /**
   * Records that `call`'s answer goes to the engine now; returns what `refresh` should resolve with (or
   * throws what it should reject with).
   */
  release(call: RefreshCall, answer: RefreshAnswer): TokenSet {
    const current = !call.released && !call.ctx.signal.aborted;
    call.released = true;
    if (answer.kind === 'error') {
      if (current) this.allow({ signOut: answer.auth, identity: answer.auth || call.ctx.reason === 'rotated' });
      throw answer.error;
    }
    if (answer.kind === 'garbage') {
      const carried = (answer.value as { refreshToken?: unknown } | null)?.refreshToken;
      const sent = call.ctx.refreshToken;
      if (current && typeof carried === 'string' && sent !== undefined && carried !== sent) this.spent.add(sent);
      return answer.value as TokenSet;
    }
    const { set } = answer;
    const sent = call.ctx.refreshToken;
    if (current && sent !== undefined && set.refreshToken !== undefined && set.refreshToken !== sent) this.spent.add(sent);
    // The same token again (a caching server) is the one issued before, with its own birth and expiry.
    if (this.tokens.has(set.accessToken)) return set;
    const otherSession = answer.sessionKey !== null && answer.sessionKey !== call.ctx.session?.sessionKey;
    const token = { expiresAt: this.realNow() + answer.lifeMs, sessionKey: answer.sessionKey };
    // The engine drops an answer for a session a sign-in has replaced since the request was sent.
    const forHeldSession = call.ctx.session === this.engine.actor.getSnapshot().context.session;
    // A rotation's or a restore's answer starts the session it fetched.
    const starts = call.ctx.reason === 'rotated' || call.ctx.reason === 'restore';
    if (current && forHeldSession && (otherSession || starts)) {
      this.allow({ identity: true });
      // A rotation by the server: the old session is gone, the answer is the new one's first token.
      if (otherSession) this.kill();
      this.register(set.accessToken, token, set);
    } else {
      this.register(set.accessToken, { ...token, born: call.born }, set);
    }
    return set;
  }

  /** Settles a deferred call (the default `answer`). */
  settle(call: RefreshCall, answer: RefreshAnswer): void {
    let set: TokenSet;
    try {
      set = this.release(call, answer);
    } catch (error) {
      call.reject(error);
      return;
    }
    call.resolve(set);
  }

  stop(): void {
    this.subscription.unsubscribe();
    for (const call of this.calls) call.released = true;
    this.stopping = true;
    this.engine.stop();
  }

  /** Invariant 7: only a sign-out, `stop()` or `refreshTimeoutMs` aborts a request. */
  private checkAbort(call: RefreshCall): void {
    if (this.stopping || this.step?.signOutAllowed) return;
    const ran = this.timerNow() - call.startedAt;
    if (ran < this.timeoutMs) this.violate(`7: refresh (${call.ctx.reason}) aborted after ${ran} ms, by neither a sign-out nor the timeout`);
  }

  private checkServed(token: string | null, via: string): void {
    if (token === null) return;
    const entry = this.tokens.get(token);
    if (!entry) return this.violate(`${via} served a token nobody issued`);
    if (this.realNow() >= entry.expiresAt)
      this.violate(`1: ${via} served a token ${this.realNow() - entry.expiresAt} ms expired`);
    if (entry.born < this.lastKill) this.violate(`2: ${via} served a token of an ended or rotated-away session`);
  }

  private violate(message: string): void {
    this.violations.push(this.step ? `${message} [during ${this.step.label}]` : message);
  }
}
