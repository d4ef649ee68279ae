import { decodeJwt } from 'jose';
import { vi } from 'vitest';
import { AuthError, NetworkError } from '../../src/errors.js';
import type { RefreshContext, TokenSet } from '../../src/types.js';
import { mint } from './tokens.js';

/**
 * An auth server for engines in one process, on the fake clock: JWTs signed synchronously, refresh tokens
 * rotated on every answer, a replayed one flagged (and its family revoked, as providers do). It checks what only
 * the server can see across tabs: requests in flight at once, refresh tokens sent again, and whether a token
 * served anywhere is expired or belongs to a session that ended or rotated away.
 *
 * A request is processed when its answer is released (`release`, or at once with `autoRelease`): one aborted
 * before that never reached the server, so its refresh token is not spent. Each answer comes back 1 ms of wall
 * clock after the server got to it (no timer runs meanwhile): a network takes time, so two answers of one
 * session are never issued in the same millisecond, which the tabs could not order.
 */

interface Family {
  sid: string;
  /** The one refresh token that may be sent next. */
  current: string;
  revoked: boolean;
  /** Tokens born before this birth belong to an ended or rotated-away session. */
  killedAt: number;
}

interface Issued {
  family: Family;
  born: number;
  expiresAtMs: number;
}

export interface PendingRefresh {
  readonly ctx: RefreshContext;
  readonly tab: number;
  /** Tabs that share one session (a tab that keeps to itself is a group of its own): one request in flight each. */
  readonly group: string;
  /** Birth of whatever this request returns: a request sent before a kill brings a dead token. */
  readonly born: number;
  settled: boolean;
}

export type Failure = { status: 503 } | { status: 429; retryAfterMs: number };

export class TokenServer {
  readonly violations: string[] = [];
  readonly pending: PendingRefresh[] = [];
  requests = 0;
  /** Requests that reached the server while another one was still out, whoever sent them. */
  overlaps = 0;
  replays = 0;
  /**
   * Replays of a refresh token of a session no tab holds any more (the tabs moved on to a later sign-in while a
   * request of the old one waited for the lock): the server revokes a family nobody uses. Counted apart, not
   * a violation here: a known gap of the protocol (see docs/testing.md), unlike a replay in a live session.
   */
  abandonedReplays = 0;
  /** What the tabs hold now, to tell a replay in a live session from one in an abandoned session. */
  holders: () => Array<{ accessToken?: string; refreshToken?: string }> = () => [];
  /** Answers are released as soon as the request is made (a microtask later); else `release` does it. */
  autoRelease = true;
  /** The server's clock minus the tabs' wall clock: set it by as much as a test sets the wall clock back. */
  aheadMs = 0;
  /** Told of each request as it is made (to schedule its answer). */
  onRequest: (call: PendingRefresh) => void = () => {};
  private births = 0;
  private sessions = 0;
  private readonly failures: Failure[] = [];
  private readonly families = new Map<string, Family>();
  private readonly issued = new Map<string, Issued>();
  private readonly settlers = new Map<PendingRefresh, () => void>();

  constructor(private readonly lifeS = 60) {}

  /** A new session's first token set, as a sign-in page hands it to one tab. */
  signIn(): TokenSet {
    const family: Family = { sid: `s${(this.sessions += 1)}`, current: '', revoked: false, killedAt: -1 };
    return this.issue(family, this.birth());
  }

  /** The next `count` refreshes fail without spending anything. */
  failNext(count: number, failure: Failure): void {
    for (let i = 0; i < count; i += 1) this.failures.push(failure);
  }

  /**
   * Every token of the session `held` belongs to (found by its access or refresh token) born so far is dead: a
   * sign-out, or with `rotate` a rotation, after which the session's refresh token brings a new session key.
   */
  kill(held: { accessToken?: string; refreshToken?: string }, rotate = false): void {
    const family = this.familyOf(held);
    if (!family) return;
    family.killedAt = this.birth();
    if (rotate) family.sid = `s${(this.sessions += 1)}`;
  }

  /** The session key `accessToken` was issued for now (after a rotation, the new one). */
  sidOf(accessToken: string): string | undefined {
    return this.issued.get(accessToken)?.family.sid;
  }

  /** The refresh function of tab `tab`, one of the tabs of `group`. */
  refreshFor(tab: number, group = 'origin'): (ctx: RefreshContext) => Promise<TokenSet> {
    return (ctx) => {
      this.requests += 1;
      if (this.inFlight(group).length > 0) {
        this.overlaps += 1;
        this.violations.push(`3: tab ${tab} sent a refresh (${ctx.reason}) while another was in flight`);
      }
      const call: PendingRefresh = { ctx, tab, group, born: this.birth(), settled: false };
      this.pending.push(call);
      return new Promise<TokenSet>((resolve, reject) => {
        const answer = () => {
          if (call.settled) return;
          call.settled = true;
          try {
            resolve(this.answer(call));
          } catch (error) {
            reject(error);
          }
        };
        // Aborted before the server got to it: nothing is spent, the engine hears nothing more.
        ctx.signal.addEventListener('abort', () => {
          call.settled = true;
          reject(new DOMException('aborted', 'AbortError'));
        });
        this.settlers.set(call, answer);
        if (this.autoRelease) queueMicrotask(answer);
        this.onRequest(call);
      });
    };
  }

  /** Requests still out (of `group`, or of every group). */
  inFlight(group?: string): PendingRefresh[] {
    return this.pending.filter((call) => !call.settled && !call.ctx.signal.aborted && (group === undefined || call.group === group));
  }

  /** Processes and answers a held request. */
  release(call: PendingRefresh): void {
    this.settlers.get(call)?.();
  }

  /** A token served by any tab at `now`: neither expired nor of an ended or rotated-away session. */
  checkServed(token: string | null, via: string, now = Date.now() + this.aheadMs): void {
    if (token === null) return;
    const issued = this.issued.get(token);
    if (!issued) return void this.violations.push(`${via} served a token the server never issued`);
    if (now >= issued.expiresAtMs) this.violations.push(`1: ${via} served a token ${now - issued.expiresAtMs} ms expired`);
    if (issued.born < issued.family.killedAt) this.violations.push(`2: ${via} served a token of an ended or rotated-away session`);
  }

  private answer(call: PendingRefresh): TokenSet {
    vi.setSystemTime(Date.now() + 1);
    const failure = this.failures.shift();
    if (failure) {
      throw new NetworkError(`the server answered ${failure.status}`, {
        retryAfterMs: failure.status === 429 ? failure.retryAfterMs : undefined,
      });
    }
    const family = this.families.get(call.ctx.refreshToken ?? '');
    if (!family || family.revoked) throw new AuthError('unknown or revoked refresh token');
    if (family.current !== call.ctx.refreshToken) {
      family.revoked = true;
      this.replays += 1;
      if (!this.holders().some((held) => this.familyOf(held) === family)) this.abandonedReplays += 1;
      else this.violations.push(`7: tab ${call.tab} sent a refresh token an answer had already replaced`);
      throw new AuthError('refresh token replayed: the family is revoked');
    }
    // A rotation's fetch answers the rotation: its token is the new session's first, whatever rotations came
    // while it was out (a tab in `rotated` takes a second notice as the same one).
    return this.issue(family, call.ctx.reason === 'rotated' ? this.birth() : call.born);
  }

  private issue(family: Family, born: number): TokenSet {
    family.current = `rt-${family.sid}-${(this.births += 1)}`;
    this.families.set(family.current, family);
    const set = mint({ life: this.lifeS, sid: family.sid, refreshToken: family.current, skewMs: this.aheadMs });
    const { exp } = decodeJwt(set.accessToken);
    this.issued.set(set.accessToken, { family, born, expiresAtMs: exp! * 1000 });
    return set;
  }

  private familyOf(held: { accessToken?: string; refreshToken?: string }): Family | undefined {
    return (
      (held.accessToken ? this.issued.get(held.accessToken)?.family : undefined) ??
      (held.refreshToken ? this.families.get(held.refreshToken) : undefined)
    );
  }

  private birth(): number {
    return (this.births += 1);
  }
}
