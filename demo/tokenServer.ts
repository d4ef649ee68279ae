/**
 * A small local token endpoint for the demos: HS256 JWTs (jose) with a short life and a `sid` claim, and
 * rotating refresh tokens (each one works once). It can answer 503 or 429, hang, answer slowly, go down (stop
 * listening), run its clock off ours, and rotate a session server-side, as a real auth server does after a
 * password change. Every setting can change while it runs (the web demo's controls). An API beside it asks it
 * whether an access token is live (`verifyAccessToken`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';

export interface TokenServerOptions {
  /** Access token life in seconds. */
  lifeSeconds?: number;
  /** The server's clock minus ours, in ms: its `iat`/`exp` are read on its clock. */
  clockAheadMs?: number;
}

export interface TokenResponse {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

/** `unavailable`: 503; `rateLimited`: 429 with Retry-After; `hang`: no answer until the mode changes. */
export type FailureMode = 'none' | 'unavailable' | 'rateLimited' | 'hang';

export interface TokenServerSettings {
  lifeSeconds: number;
  /** Delay before each answer, ms. */
  latencyMs: number;
  failure: FailureMode;
  /** The server's clock minus ours, ms (set by the demo, as a badly set server clock). */
  clockAheadMs: number;
  /** How far the demo's laptop "slept": both clocks moved this much ahead of the real time, ms. */
  sleptMs: number;
  /** What a 429 asks clients to wait, seconds. */
  retryAfterSeconds: number;
}

const RETRY_AFTER_S = 3;
/** A hanging request is let go after this long at most, so no socket is held for ever. */
const MAX_HANG_MS = 60_000;

interface Grant {
  sid: string;
  sub: string;
}

/** What an API learns from a live access token: whose it is, and which one (`jti`, to revoke it by). */
export interface AccessClaims extends Grant {
  jti: string;
}

const newSid = () => `sid-${randomBytes(3).toString('hex')}`;

export interface TokenServer {
  /** Base URL, e.g. http://127.0.0.1:54321 */
  readonly url: string;
  /** Refresh requests answered with a token so far. */
  readonly refreshes: number;
  /** How every refresh is answered from now on (`none`: normally). */
  failWith(mode: FailureMode): void;
  /** Delays each answer, so a request can be caught in flight. */
  delayAnswers(ms: number): void;
  /** Stops listening: connections are refused, as when the server or the network is gone. */
  goDown(): Promise<void>;
  comeBack(): Promise<void>;
  /** The next refresh of this session returns a token of a new session (a new `sid`). */
  rotateSession(sid: string): void;
  /** Life of the tokens issued from now on, seconds. */
  setLifeSeconds(seconds: number): void;
  /** The server's clock minus ours, for the tokens issued from now on, ms. */
  setClockAhead(ms: number): void;
  /** The laptop slept: both clocks jump `ms` ahead (the demo moves its own Date.now() as much). */
  sleep(ms: number): void;
  /** The claims of an access token this server signed and whose `exp` has not passed on its clock; else null. */
  verifyAccessToken(token: string): Promise<AccessClaims | null>;
  readonly settings: TokenServerSettings;
  close(): Promise<void>;
}

export async function startTokenServer(options: TokenServerOptions = {}): Promise<TokenServer> {
  let lifeSeconds = options.lifeSeconds ?? 10;
  let clockAheadMs = options.clockAheadMs ?? 0;
  let sleptMs = 0;
  const secret = randomBytes(32);
  /** Live refresh tokens; a used one is deleted (rotation), so a replay gets invalid_grant. */
  const grants = new Map<string, Grant>();
  const rotatedSids = new Set<string>();
  let mode: FailureMode = 'none';
  let delayMs = 0;
  let refreshes = 0;
  /** Releases of the requests held by `hang`: a change of mode or a close lets them go on. */
  const hanging = new Set<() => void>();
  const releaseHanging = () => {
    for (const release of hanging) release();
    hanging.clear();
  };
  const hang = (gone: AbortSignal) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, MAX_HANG_MS);
      const release = () => {
        clearTimeout(timer);
        hanging.delete(release);
        resolve();
      };
      hanging.add(release);
      gone.addEventListener('abort', release, { once: true });
    });

  const serverNow = () => Date.now() + sleptMs + clockAheadMs;

  async function issue(grant: Grant): Promise<TokenResponse> {
    const iat = Math.floor(serverNow() / 1000);
    const accessToken = await new SignJWT({ sid: grant.sid })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(grant.sub)
      .setIssuedAt(iat)
      .setExpirationTime(iat + lifeSeconds)
      .setJti(randomUUID())
      .sign(secret);
    const refreshToken = randomBytes(24).toString('base64url');
    grants.set(refreshToken, grant);
    return { access_token: accessToken, refresh_token: refreshToken, token_type: 'Bearer', expires_in: lifeSeconds };
  }

  type Answer = { status: number; body: unknown; headers?: Record<string, string> };
  async function answer(request: http.IncomingMessage, gone: AbortSignal): Promise<Answer> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));

    if (request.method === 'POST' && request.url === '/signin') {
      return { status: 200, body: await issue({ sid: newSid(), sub: params.get('username') ?? 'demo-user' }) };
    }
    if (request.method !== 'POST' || request.url !== '/token') return { status: 404, body: { error: 'not_found' } };
    if (mode === 'hang') await hang(gone);
    // A client that gave up (timeout, abort) never sees the answer: its refresh token must stay usable.
    if (gone.aborted) return { status: 499, body: { error: 'client_closed_request' } };
    if (mode === 'unavailable') return { status: 503, body: { error: 'temporarily_unavailable' } };
    if (mode === 'rateLimited') {
      return { status: 429, body: { error: 'slow_down' }, headers: { 'retry-after': String(RETRY_AFTER_S) } };
    }
    const presented = params.get('refresh_token') ?? '';
    const grant = params.get('grant_type') === 'refresh_token' ? grants.get(presented) : undefined;
    if (!grant) return { status: 400, body: { error: 'invalid_grant' } };
    grants.delete(presented);
    refreshes += 1;
    if (!rotatedSids.delete(grant.sid)) return { status: 200, body: await issue(grant) };
    return { status: 200, body: await issue({ ...grant, sid: newSid() }) };
  }

  const server = http.createServer((request, response) => {
    const gone = new AbortController();
    response.once('close', () => gone.abort());
    answer(request, gone.signal).then(
      ({ status, body, headers }) => {
        if (gone.signal.aborted) return;
        response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
        response.end(JSON.stringify(body));
      },
      () => {
        response.writeHead(500).end();
      },
    );
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  await listen(0);
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    get refreshes() {
      return refreshes;
    },
    failWith: (next) => {
      mode = next;
      if (next !== 'hang') releaseHanging();
    },
    delayAnswers: (ms) => {
      delayMs = ms;
    },
    goDown: stopListening,
    comeBack: () => listen(port),
    rotateSession: (sid) => {
      rotatedSids.add(sid);
    },
    setLifeSeconds: (seconds) => {
      lifeSeconds = seconds;
    },
    setClockAhead: (ms) => {
      clockAheadMs = ms;
    },
    sleep: (ms) => {
      sleptMs += ms;
    },
    async verifyAccessToken(token) {
      try {
        const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'], currentDate: new Date(serverNow()) });
        const { sub, sid, jti } = payload;
        return typeof sub === 'string' && typeof sid === 'string' && typeof jti === 'string' ? { sub, sid, jti } : null;
      } catch {
        return null;
      }
    },
    get settings() {
      return { lifeSeconds, latencyMs: delayMs, failure: mode, clockAheadMs, sleptMs, retryAfterSeconds: RETRY_AFTER_S };
    },
    close: () => {
      releaseHanging();
      return server.listening ? stopListening() : Promise.resolve();
    },
  };
}
