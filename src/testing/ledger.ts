import type { ServerSession } from './sessions.js';
import type { TokenServer } from './types.js';
import type { IssuedToken, TokenRequest } from './types.js';

/**
 * What an invariant checker knows about sessions beyond the server's records: when each one ended or was rotated
 * away (a token born before that is dead), which tokens were born later than their request (an answer that starts
 * a session), which refresh tokens an answer that reached its client replaced, and which session keys were started.
 * Births and ends share the server's order of events.
 */
export class Ledger {
  private readonly endedAt = new Map<ServerSession, number>();
  private readonly bornAt = new Map<string, number>();
  /** Sessions signed out or refused: an engine leaving one of them is explained. */
  readonly ended = new Set<ServerSession>();
  /** Refresh tokens an answer that reached its client replaced: sending one again is a replay. */
  readonly spent = new Set<string>();
  /** Session keys a sign-in, a rotation or a restore started: an engine taking one up is explained. */
  readonly started = new Set<string>();
  /** The order number of the last sign-out, stop or session end: a request aborted after it is explained. */
  lastEnd = 0;

  constructor(private readonly server: TokenServer) {}

  /** Every token of `session` born so far is dead from now on. */
  kill(session: ServerSession | undefined): void {
    if (session) this.endedAt.set(session, this.server.stamp());
  }

  /** The order an access token was born at: its answer's, or its request's. */
  birthOf(accessToken: string, token: IssuedToken): number {
    return this.bornAt.get(accessToken) ?? token.order;
  }

  /** An answer that starts a session: its token is born now, after the end of what it replaces. */
  bornNow(accessToken: string): void {
    this.bornAt.set(accessToken, this.server.stamp());
  }

  isDead(accessToken: string, token: IssuedToken): boolean {
    return this.birthOf(accessToken, token) < (this.endedAt.get(token.session) ?? 0);
  }

  /** Whether `session` ended after `request` was made. */
  endedSince(session: ServerSession | undefined, request: TokenRequest): boolean {
    return session !== undefined && (this.endedAt.get(session) ?? 0) > request.id;
  }

  /** The session a request was made for: its refresh token's, else the one its engine named. */
  sessionOf(request: TokenRequest): ServerSession | undefined {
    const named = request.ctx?.session?.sessionKey;
    return (
      (request.refreshToken === undefined ? undefined : this.server.sessionOfRefreshToken(request.refreshToken)) ??
      (named === undefined ? undefined : this.server.session(named))
    );
  }
}
