/**
 * The fake auth server every engine talks to: HS256 access tokens (`sub`, `session_id`, `iat`, `exp` on the
 * server's clock) and rotating refresh tokens with Supabase's reuse rule (a used refresh token may be
 * replayed for 10 s; after that a replay revokes the session). Faults come from the schedule; responses
 * arrive after a latency on the fake clock.
 */
import { createHmac } from 'node:crypto';
import { faultAt, type FaultKind, type FaultWindow } from './schedule.js';
import type { Timeline } from './metrics.js';

export const REUSE_INTERVAL_MS = 10_000;
const SECRET = 'bench-secret';

export interface TokenBody {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
  expires_in: number;
  /** Server seconds, as Supabase sends it. */
  expires_at: number;
  user: typeof USER;
}

export type Reply =
  | { status: 200; body: TokenBody }
  | { status: 400 | 429 | 503; body: { code: string; msg: string }; retryAfterS?: number };

const USER = { id: 'user-1', aud: 'authenticated', role: 'authenticated', email: 'bench@example.com' } as const;

interface SessionRecord {
  /** The serial of the live refresh token; older serials are used. */
  serial: number;
  /** Local ms at which each recent serial was used (index serial % 16). */
  usedAt: Float64Array;
  revoked: boolean;
}

const b64url = (text: string) => Buffer.from(text).toString('base64url');

export function sign(claims: Record<string, unknown>): string {
  const head = b64url('{"alg":"HS256","typ":"JWT"}');
  const body = b64url(JSON.stringify(claims));
  return `${head}.${body}.${createHmac('sha256', SECRET).update(`${head}.${body}`).digest('base64url')}`;
}

export interface ServerOptions {
  lifeS: number;
  skewMs: number;
  faults: readonly FaultWindow[];
  random: () => number;
  timeline: Timeline;
}

export class TokenServer {
  requests = 0;
  /** Requests by the fault in force when they were sent (`none`: no fault). */
  readonly requestsDuring: Record<FaultKind | 'none', number> = { none: 0, outage: 0, offline: 0, '5xx': 0, '429': 0, slow: 0 };
  /** Requests sent before the Retry-After of the last 429 had passed. */
  retryAfterIgnored = 0;
  /** The most ms by which one of those came before the Retry-After's end. */
  retryAfterMaxEarlyMs = 0;
  granted = 0;
  replays = 0;
  /** Local ms before which the last 429 asked the client not to come back. */
  private retryNotBefore = -Infinity;
  private sessions = new Map<string, SessionRecord>();
  private sessionCount = 0;
  private minted = 0;
  /**
   * Local ms at which the request that brought each recent access token was sent (a sign-in's: the sign-in),
   * for the contract's expiry measure, which counts a token's life from there.
   */
  readonly sentAt = new Map<string, number>();

  constructor(private readonly options: ServerOptions) {}

  serverNow(): number {
    return Date.now() + this.options.skewMs;
  }

  /** A new session, as after a sign-in (no network involved). Returns its id and first token body. */
  login(): { sessionId: string; body: TokenBody } {
    const sessionId = `s${(this.sessionCount += 1)}`;
    this.sessions.set(sessionId, { serial: 0, usedAt: new Float64Array(16), revoked: false });
    const body = this.tokenBody(sessionId, 0);
    this.noteSent(body.access_token, Date.now());
    return { sessionId, body };
  }

  isRevoked(sessionId: string): boolean {
    return this.sessions.get(sessionId)?.revoked ?? false;
  }

  /** POST /token?grant_type=refresh_token. Rejects with a TypeError when the network is down. */
  exchange(refreshToken: string | undefined): Promise<Reply> {
    const now = Date.now();
    this.requests += 1;
    this.options.timeline.request(now);
    const fault = faultAt(this.options.faults, now);
    this.requestsDuring[fault?.kind ?? 'none'] += 1;
    if (now < this.retryNotBefore) {
      this.retryAfterIgnored += 1;
      this.retryAfterMaxEarlyMs = Math.max(this.retryAfterMaxEarlyMs, this.retryNotBefore - now);
    }
    if (fault?.kind === 'outage' || fault?.kind === 'offline') {
      return this.after(50, () => {
        throw new TypeError('fetch failed');
      });
    }
    const latency = fault?.kind === 'slow' ? fault.latencyMs! : 80 + Math.round(this.options.random() * 170);
    if (fault?.kind === '5xx') return this.after(latency, () => this.error(503, 'unavailable'));
    if (fault?.kind === '429') {
      return this.after(latency, () => {
        this.retryNotBefore = Date.now() + fault.retryAfterS! * 1000;
        return { ...this.error(429, 'over_request_rate_limit'), retryAfterS: fault.retryAfterS };
      });
    }
    const reply = this.refresh(refreshToken, now);
    if (reply.status === 200) this.noteSent(reply.body.access_token, now);
    return this.after(latency, () => reply);
  }

  private refresh(refreshToken: string | undefined, now: number): Reply {
    const [sessionId, serialText] = (refreshToken ?? '').split('.');
    const session = this.sessions.get(sessionId ?? '');
    const serial = Number(serialText);
    if (!session || session.revoked || !Number.isInteger(serial) || serial > session.serial) {
      return this.error(400, 'refresh_token_not_found');
    }
    if (serial < session.serial) {
      this.replays += 1;
      const usedAt = session.serial - serial <= 16 ? session.usedAt[serial % 16]! : -Infinity;
      if (now - usedAt > REUSE_INTERVAL_MS) {
        session.revoked = true;
        return this.error(400, 'refresh_token_already_used');
      }
      // Inside the reuse window the server answers with the live refresh token.
      this.granted += 1;
      return { status: 200, body: this.tokenBody(sessionId!, session.serial) };
    }
    session.usedAt[serial % 16] = now;
    session.serial += 1;
    this.granted += 1;
    return { status: 200, body: this.tokenBody(sessionId!, session.serial) };
  }

  private tokenBody(sessionId: string, serial: number): TokenBody {
    const iat = Math.floor(this.serverNow() / 1000);
    const exp = iat + this.options.lifeS;
    const jti = (this.minted += 1);
    const access_token = sign({ sub: USER.id, session_id: sessionId, iat, exp, jti });
    return {
      access_token,
      refresh_token: `${sessionId}.${serial}`,
      token_type: 'bearer',
      expires_in: this.options.lifeS,
      expires_at: exp,
      user: USER,
    };
  }

  private error(status: 400 | 429 | 503, code: string): Reply {
    return { status, body: { code, msg: code } };
  }

  private noteSent(accessToken: string, at: number): void {
    this.sentAt.set(accessToken, at);
    // Bounded: a token older than the last 256 is long expired, and is judged so when served.
    if (this.sentAt.size > 256) this.sentAt.delete(this.sentAt.keys().next().value!);
  }

  private after<T>(ms: number, answer: () => T): Promise<T> {
    return new Promise((resolve, reject) =>
      setTimeout(() => {
        try {
          resolve(answer());
        } catch (error) {
          reject(error);
        }
      }, ms),
    );
  }
}

/** The token's `iat` and `exp` (server seconds), read without verifying. */
export function claimsOf(accessToken: string): { iat: number; exp: number } {
  const payload = accessToken.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString()) as { iat: number; exp: number };
}
