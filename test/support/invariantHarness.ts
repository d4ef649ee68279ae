import { BehaviorSubject, Subject } from 'rxjs';
import { vi } from 'vitest';
import { createSessionEngine, type SessionEngine } from '../../src/index.js';
import type { SessionEngineOptions, TokenSet } from '../../src/types.js';
import { resolveConfig } from '../../src/engine/options.js';
import {
  checkInvariants,
  createTokenServer,
  type InvariantChecker,
  type IssueOptions,
  type TokenRequest,
  type TokenServer,
} from '../../src/testing/index.js';

/**
 * A real engine (and, after a reload, the next one on the same storage) refreshing against sessionchart/testing's
 * token server, every request held until the test answers it, with the invariant checker watching. What is left
 * here is what only these tests need: three clocks, the token sets handed out (a caching server answers one
 * again), what a getToken may reject with, and what `getSnapshot()` may say.
 *
 * The clocks: the wall clock (`Date.now()`, which a test may set back), real time (the wall clock plus every
 * set-back: the server's clock, by which expiry is judged) and timer time (real time less sleeps, during which no
 * timer runs: what `refreshTimeoutMs` is measured in). Move them with `sleep`, `setClockBack` and `advance`.
 */

export interface EngineWorldOptions {
  engine?: Partial<Omit<SessionEngineOptions, 'refresh' | 'online$' | 'resume$'>>;
  /** The server's clock minus the real one. */
  serverSkewMs?: number;
}

const TYPED_REJECTIONS = new Set(['network', 'aborted', 'invalid_token']);

export class EngineWorld {
  readonly online$ = new BehaviorSubject(true);
  readonly resume$ = new Subject<void>();
  readonly server: TokenServer = createTokenServer();
  readonly checker: InvariantChecker;
  /** What the checker does not see: rejections of an untyped error, a snapshot read that moved or lied. */
  readonly problems: string[] = [];
  private live: SessionEngine;
  private engines = 0;
  private readonly makeEngine: () => SessionEngine;
  private readonly refreshThresholdMs: number;
  /** The token sets handed out, by access token: what a server answering "the same token again" sends. */
  private readonly sets = new Map<string, TokenSet>();
  private setBackMs = 0;
  /** The part of `setBackMs` the current engine has seen (a reloaded engine starts on the wall clock). */
  private engineSetBackMs = 0;
  private sleptMs = 0;

  constructor(options: EngineWorldOptions = {}) {
    const config = resolveConfig({ ...options.engine, refresh: () => Promise.reject(new Error('unused')) });
    this.refreshThresholdMs = config.refreshThresholdMs;
    this.server.skewMs = options.serverSkewMs ?? 0;
    this.server.holdRequests();
    this.checker = checkInvariants([], this.server, { refreshTimeoutMs: config.refreshTimeoutMs, timerNow: () => this.timerNow() });
    this.makeEngine = () => {
      const name = `engine ${(this.engines += 1)}`;
      const engine = createSessionEngine({ ...options.engine, refresh: this.server.refreshFor(name), online$: this.online$, resume$: this.resume$ });
      this.checker.watch(engine, name);
      return engine;
    };
    this.live = this.makeEngine();
  }

  get engine(): SessionEngine {
    return this.live;
  }

  /** The page reloads: the engine stops (its request aborted, as `stop()` may) and a new one starts on the same storage. */
  reload(): void {
    this.live.stop();
    this.engineSetBackMs = 0;
    this.live = this.makeEngine();
  }

  /** The engine's clock: the wall clock plus the set-backs this engine has seen. */
  engineNow(): number {
    return Date.now() + this.engineSetBackMs;
  }

  realNow(): number {
    return Date.now() + this.setBackMs;
  }

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

  /** The wall clock is set back; real time goes on (the server's clock with it), and so does the engine's once it reads it. */
  setClockBack(ms: number): void {
    this.setBackMs += ms;
    this.engineSetBackMs += ms;
    this.server.skewMs += ms;
    vi.setSystemTime(Date.now() - ms);
    this.engine.peekToken();
  }

  /** Time passes, timers run. */
  advance(ms: number): Promise<unknown> {
    return vi.advanceTimersByTimeAsync(ms);
  }

  /** Requests the server holds for an answer (aborted ones are settled, not in flight). */
  current(): TokenRequest | undefined {
    return this.server.inFlight()[0];
  }

  /** A sign-in's token set from the server. */
  signIn(issue: IssueOptions): TokenSet {
    return this.kept(this.server.signIn(issue));
  }

  /** Answers `request` with a token set the server mints (in its session unless `issue.sid` says another). */
  respond(request: TokenRequest, issue: IssueOptions = {}): void {
    if (!request.delivered) this.kept(request.respond(issue));
  }

  /** The token set handed out with this access token (what a caching server would answer again). */
  setOf(accessToken: string): TokenSet | undefined {
    return this.sets.get(accessToken);
  }

  /** getToken (or `restore()`), its rejection checked: only the engine's typed errors. */
  getToken(forceRefresh = false, restore = false): void {
    const label = restore ? 'restore()' : forceRefresh ? 'getToken({ forceRefresh })' : 'getToken()';
    const asked = restore ? this.engine.restore() : this.engine.getToken(forceRefresh ? { forceRefresh } : undefined);
    asked.catch((error: unknown) => {
      const code = (error as { code?: unknown }).code;
      if (!TYPED_REJECTIONS.has(code as string)) this.problems.push(`${label} rejected with ${String(code ?? error)}`);
    });
  }

  /**
   * `getSnapshot()`: a pure read (the actor hears nothing of it) that never says `fresh` for a token the clock
   * says is stale or expired (judged on the wall clock, as the snapshot's times are).
   */
  checkSnapshot(): void {
    const before = this.engine.actor.getSnapshot();
    const snapshot = this.engine.getSnapshot();
    if (this.engine.actor.getSnapshot() !== before) this.problems.push('getSnapshot() moved the machine');
    if (snapshot.status !== 'fresh') return;
    const { expiresAt, issuedAt } = snapshot;
    const lead = Math.min(this.refreshThresholdMs, (expiresAt! - issuedAt!) / 2);
    if (Date.now() >= expiresAt! - lead) this.problems.push('getSnapshot() says fresh for a token the clock says is not');
  }

  /**
   * After a step: what the engine serves and holds, and (once promise callbacks ran) the callers that held a valid
   * token. Returns every violation and problem so far, as readable lines.
   */
  endStep(flushed = true): string[] {
    this.engine.peekToken();
    // Calls made in a step that left promise callbacks pending are judged after the next flush.
    if (flushed) this.checker.checkHeldTokenCalls();
    this.checker.checkHeld();
    const violations = this.checker.violations.map(({ invariant, event, message }) => `${invariant} (${event}): ${message}`);
    return [...violations, ...this.problems];
  }

  stop(): void {
    this.live.stop();
    this.checker.stop();
  }

  private kept(set: TokenSet): TokenSet {
    this.sets.set(set.accessToken, set);
    return set;
  }
}
