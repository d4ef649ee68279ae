/**
 * The token server's sessions: what a sign-in starts and its refresh tokens carry on (a token family, in OAuth's
 * words), and the reuse rule that judges each refresh token presented.
 */

/** One session on the token server. */
export interface ServerSession {
  /** The session key its access tokens carry now (`sid`); a rotation on the server gives it a new one. */
  readonly sid: string;
  /** Every key it has had, oldest first. */
  readonly sids: readonly string[];
  readonly sub: string;
  /** Revoked by a replay or by `revoke()`: its refresh tokens are refused, its access tokens fail `verify`. */
  readonly revoked: boolean;
}

export class Session implements ServerSession {
  readonly sids: string[];
  revoked = false;
  /** The refresh token that may be sent next; undefined while the session has handed none out. */
  current: string | undefined;
  /** Refresh tokens an answer replaced, oldest first, with the local time it did: a replay is judged by it. */
  readonly replaced: Array<{ token: string; at: number }> = [];

  constructor(
    sid: string,
    readonly sub: string,
  ) {
    this.sids = [sid];
  }

  get sid(): string {
    return this.sids.at(-1)!;
  }
}

/** How the server judges a refresh token: granted, or refused and why; `replay`: it had been replaced. */
export type Verdict =
  | { granted: true; session: Session; replay: boolean }
  | { granted: false; reason: 'unknown' | 'revoked' | 'replayed'; replay: boolean };

export class SessionBook {
  private readonly bySid = new Map<string, Session>();
  private readonly byRefreshToken = new Map<string, Session>();

  /** `remembered`: how many replaced refresh tokens each session keeps (older ones become unknown). */
  constructor(private readonly remembered: number) {}

  start(sid: string, sub: string): Session {
    const session = new Session(sid, sub);
    this.bySid.set(sid, session);
    return session;
  }

  /** The session that has (or once had) the key `sid`. */
  find(sid: string): Session | undefined {
    return this.bySid.get(sid);
  }

  /** The session a refresh token it handed out belongs to, used or not. */
  holding(refreshToken: string | undefined): Session | undefined {
    return refreshToken === undefined ? undefined : this.byRefreshToken.get(refreshToken);
  }

  /** A rotation on the server: the session's tokens carry `sid` from now on. */
  rekey(session: Session, sid: string): void {
    session.sids.push(sid);
    this.bySid.set(sid, session);
  }

  /** `refreshToken` is the one to send next; the one it replaces is remembered as replaced at `at`. */
  hand(session: Session, refreshToken: string, at: number): void {
    if (session.current === refreshToken) return;
    if (session.current !== undefined) {
      session.replaced.push({ token: session.current, at });
      if (session.replaced.length > this.remembered) this.byRefreshToken.delete(session.replaced.shift()!.token);
    }
    session.current = refreshToken;
    this.byRefreshToken.set(refreshToken, session);
  }

  /**
   * The reuse rule: the current refresh token is granted; a replaced one within `graceMs` of its replacement is
   * granted too (answered with the current one, as Supabase does); any later replay revokes the whole session.
   */
  judge(refreshToken: string | undefined, now: number, graceMs: number): Verdict {
    const session = this.holding(refreshToken);
    if (!session) return { granted: false, reason: 'unknown', replay: false };
    if (session.revoked) return { granted: false, reason: 'revoked', replay: false };
    if (refreshToken === session.current) return { granted: true, session, replay: false };
    const used = session.replaced.find((entry) => entry.token === refreshToken)!;
    if (graceMs > 0 && now - used.at <= graceMs) return { granted: true, session, replay: true };
    session.revoked = true;
    return { granted: false, reason: 'replayed', replay: true };
  }
}
