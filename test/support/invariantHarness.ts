import { BehaviorSubject, Subject, type Subscription } from 'rxjs';
import { createSessionEngine, type SessionEngine } from '../../src/index.js';
import type { RefreshContext, SessionEngineOptions, TokenSet } from '../../src/types.js';
import type { SessionInfo } from '../../machines/types.js';
import { mint } from './tokens.js';

/**
 * A real engine wired to a controllable `refresh`, `online$` and `resume$`, that checks the contract's six
 * invariants: on every value served (getToken, peekToken, token$), on every refresh call, and after every
 * step a test brackets with `begin()` / `end()`. Violations are collected as readable strings.
 *
 * Liveness of tokens is kept by birth order: a kill (sign-out, rotation, adoption of another session) makes
 * every token born before it dead; a refresh answer is born when its request was made.
 */

export interface RefreshCall {
  readonly ctx: RefreshContext;
  /** Birth of whatever this request returns. */
  readonly born: number;
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
}

export interface InvariantHarnessOptions {
  engine?: Partial<Omit<SessionEngineOptions, 'refresh' | 'online$' | 'resume$'>>;
  /** The promise `refresh` returns for a call; by default a deferred settled with `settle()`. */
  answer?: (call: RefreshCall) => Promise<TokenSet>;
}

let opaqueCount = 0;

/** Lets promise callbacks run, and nothing else: no fake timer moves, no refresh answers. */
export async function flushMicrotasks(rounds = 60): Promise<void> {
  for (let i = 0; i < rounds; i += 1) await Promise.resolve();
}

/** A token set as the server would send it now; `sessionKey` is the key the engine will read from it. */
export function tokenSetFor(spec: TokenSpec): { set: TokenSet; lifeMs: number; sessionKey: string | null } {
  const lifeMs = spec.lifeS * 1000;
  if (spec.opaque) {
    const accessToken = `opaque-${(opaqueCount += 1)}`;
    const set = { accessToken, expiresIn: spec.lifeS, ...(spec.sessionKey ? { sessionKey: spec.sessionKey } : {}) };
    return { set, lifeMs, sessionKey: spec.sessionKey };
  }
  // With no `sid`, the engine falls back to `sub` (mint's 'user-1').
  const set = mint({ life: spec.lifeS, sid: spec.sessionKey, skewMs: spec.skewMs ?? 0 });
  return { set, lifeMs, sessionKey: spec.sessionKey ?? 'user-1' };
}

export class InvariantHarness {
  readonly online$ = new BehaviorSubject(true);
  readonly resume$ = new Subject<void>();
  readonly calls: RefreshCall[] = [];
  readonly violations: string[] = [];
  readonly engine: SessionEngine;
  private readonly tokens = new Map<string, Entry>();
  private births = 0;
  private lastKill = -1;
  private step: Step | null = null;
  private readonly mustSettle: Array<{ tracked: Tracked; label: string }> = [];
  private readonly subscription: Subscription;

  constructor(options: InvariantHarnessOptions = {}) {
    const answer =
      options.answer ??
      ((call) => new Promise<TokenSet>((resolve, reject) => Object.assign(call, { resolve, reject })));
    const refresh = (ctx: RefreshContext) => {
      const inFlight = this.inFlight();
      if (inFlight.length > 0)
        this.violate(`3: refresh (${ctx.reason}) called while ${inFlight.length} other(s) in flight`);
      const call: RefreshCall = { ctx, born: this.birth(), released: false, resolve: () => {}, reject: () => {} };
      this.calls.push(call);
      return answer(call);
    };
    this.engine = createSessionEngine({ ...options.engine, refresh, online$: this.online$, resume$: this.resume$ });
    this.subscription = this.engine.token$.subscribe((token) => this.checkServed(token, 'token$'));
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

  register(accessToken: string, token: { expiresAt: number; sessionKey: string | null; born?: number }): void {
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
      wasSignedOut: snapshot.matches('signedOut'),
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
    if (!step.wasSignedOut && snapshot.matches('signedOut') && !step.signOutAllowed) {
      this.violate(`5: ${where} the session ended without signOut() or an AuthError`);
    }
    if (!step.identityChangeAllowed && session !== step.session) {
      this.violate(
        `6: ${where} the session changed (${step.session?.sessionKey ?? 'none'} -> ${session?.sessionKey ?? 'none'})`,
      );
    }
  }

  signIn(spec: TokenSpec): TokenSet {
    const { set, lifeMs, sessionKey } = tokenSetFor(spec);
    // Another session's token (an opaque one without a key starts a new session too) rotates the old away.
    if (sessionKey === null || sessionKey !== this.engine.actor.getSnapshot().context.session?.sessionKey) this.kill();
    this.register(set.accessToken, { expiresAt: Date.now() + lifeMs, sessionKey });
    this.engine.signIn(set);
    return set;
  }

  signOut(): void {
    this.kill();
    this.engine.signOut();
  }

  rotate(): void {
    this.kill();
    this.engine.rotate();
  }

  /** getToken, checked when it settles; a call that finds a valid token must settle on microtasks alone. */
  getToken(forceRefresh = false): Tracked {
    const label = forceRefresh ? 'getToken({ forceRefresh })' : 'getToken()';
    const validHeld = !forceRefresh && this.engine.peekToken() !== null;
    const tracked: Tracked = { settled: false, value: undefined, error: undefined };
    this.engine.getToken(forceRefresh ? { forceRefresh } : undefined).then(
      (value) => {
        Object.assign(tracked, { settled: true, value });
        this.checkServed(value, label);
      },
      (error: unknown) => {
        Object.assign(tracked, { settled: true, error });
        const code = (error as { code?: unknown }).code;
        if (code !== 'network' && code !== 'aborted') this.violate(`${label} rejected with ${String(code ?? error)}`);
      },
    );
    if (validHeld) this.mustSettle.push({ tracked, label });
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
    if (answer.kind === 'garbage') return answer.value as TokenSet;
    const otherSession = answer.sessionKey !== null && answer.sessionKey !== call.ctx.session?.sessionKey;
    const token = { expiresAt: Date.now() + answer.lifeMs, sessionKey: answer.sessionKey };
    if (current && (otherSession || call.ctx.reason === 'rotated')) {
      this.allow({ identity: true });
      // A rotation by the server: the old session is gone, the answer is the new one's first token.
      if (otherSession) this.kill();
      this.register(answer.set.accessToken, token);
    } else {
      this.register(answer.set.accessToken, { ...token, born: call.born });
    }
    return answer.set;
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
    this.engine.stop();
  }

  private checkServed(token: string | null, via: string): void {
    if (token === null) return;
    const entry = this.tokens.get(token);
    if (!entry) return this.violate(`${via} served a token nobody issued`);
    if (Date.now() >= entry.expiresAt)
      this.violate(`1: ${via} served a token ${Date.now() - entry.expiresAt} ms expired`);
    if (entry.born < this.lastKill) this.violate(`2: ${via} served a token of an ended or rotated-away session`);
  }

  private violate(message: string): void {
    this.violations.push(this.step ? `${message} [during ${this.step.label}]` : message);
  }
}
