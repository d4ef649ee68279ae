/**
 * A small local token endpoint for the demo: HS256 JWTs (jose) with a short life and a `sid` claim, and
 * rotating refresh tokens (each one works once). It can answer 503, go down (stop listening) and rotate a
 * session server-side, as a real auth server does after a password change.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';

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

export type FailureMode = 'none' | 'unavailable';

interface Grant {
  sid: string;
  sub: string;
}

const newSid = () => `sid-${randomBytes(3).toString('hex')}`;

export interface TokenServer {
  /** Base URL, e.g. http://127.0.0.1:54321 */
  readonly url: string;
  /** Refresh requests answered with a token so far. */
  readonly refreshes: number;
  /** `unavailable`: every refresh gets 503. */
  failWith(mode: FailureMode): void;
  /** Delays each answer, so a request can be caught in flight. */
  delayAnswers(ms: number): void;
  /** Stops listening: connections are refused, as when the server or the network is gone. */
  goDown(): Promise<void>;
  comeBack(): Promise<void>;
  /** The next refresh of this session returns a token of a new session (a new `sid`). */
  rotateSession(sid: string): void;
  close(): Promise<void>;
}

export async function startTokenServer(options: TokenServerOptions = {}): Promise<TokenServer> {
  const lifeSeconds = options.lifeSeconds ?? 10;
  const clockAheadMs = options.clockAheadMs ?? 0;
  const secret = randomBytes(32);
  /** Live refresh tokens; a used one is deleted (rotation), so a replay gets invalid_grant. */
  const grants = new Map<string, Grant>();
  const rotatedSids = new Set<string>();
  let mode: FailureMode = 'none';
  let delayMs = 0;
  let refreshes = 0;

  async function issue(grant: Grant): Promise<TokenResponse> {
    const iat = Math.floor((Date.now() + clockAheadMs) / 1000);
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

  async function answer(request: http.IncomingMessage): Promise<{ status: number; body: unknown }> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));

    if (request.method === 'POST' && request.url === '/signin') {
      return { status: 200, body: await issue({ sid: newSid(), sub: params.get('username') ?? 'demo-user' }) };
    }
    if (request.method !== 'POST' || request.url !== '/token') return { status: 404, body: { error: 'not_found' } };
    if (mode === 'unavailable') return { status: 503, body: { error: 'temporarily_unavailable' } };
    const presented = params.get('refresh_token') ?? '';
    const grant = params.get('grant_type') === 'refresh_token' ? grants.get(presented) : undefined;
    if (!grant) return { status: 400, body: { error: 'invalid_grant' } };
    grants.delete(presented);
    refreshes += 1;
    if (!rotatedSids.delete(grant.sid)) return { status: 200, body: await issue(grant) };
    return { status: 200, body: await issue({ ...grant, sid: newSid() }) };
  }

  const server = http.createServer((request, response) => {
    answer(request).then(
      ({ status, body }) => {
        response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
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
    },
    delayAnswers: (ms) => {
      delayMs = ms;
    },
    goDown: stopListening,
    comeBack: () => listen(port),
    rotateSession: (sid) => {
      rotatedSids.add(sid);
    },
    close: () => (server.listening ? stopListening() : Promise.resolve()),
  };
}
