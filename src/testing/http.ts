import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tokenResponseOf } from './replies.js';
import type { TokenServer } from './types.js';
import type { TokenReply } from './types.js';

/**
 * The token server over HTTP, for browser and end-to-end tests: `POST /token` (the refresh_token grant, form-encoded
 * or JSON) and `POST /signin` (a new session for `sub` or `username`), answered with OAuth 2.0 token responses. A
 * request's `x-client` header names its client. A `down` fault drops the connection; a client that closes its
 * connection aborts its request.
 */

export type Handler = (request: http.IncomingMessage, response: http.ServerResponse, next?: () => void) => void;

async function readParams(request: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return {};
  if (request.headers['content-type']?.includes('application/json')) return JSON.parse(text) as Record<string, unknown>;
  return Object.fromEntries(new URLSearchParams(text));
}

function send(response: http.ServerResponse, { status, body, retryAfterSeconds }: TokenReply) {
  const json = typeof body !== 'string';
  response.writeHead(status, {
    'content-type': json ? 'application/json' : 'text/html',
    'cache-control': 'no-store',
    ...(retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) }),
  });
  response.end(json ? JSON.stringify(body) : body);
}

const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);

export function createTokenHandler(server: TokenServer): Handler {
  async function token(request: http.IncomingMessage, response: http.ServerResponse) {
    const params = await readParams(request);
    const grant = text(params.grant_type);
    if (grant !== undefined && grant !== 'refresh_token') return send(response, { status: 400, body: { error: 'unsupported_grant_type' } });
    const gone = new AbortController();
    response.once('close', () => gone.abort());
    const client = text(request.headers['x-client']) ?? 'http';
    const refreshToken = text(params.refresh_token) ?? text(params.refreshToken);
    try {
      const reply = await server.exchange(refreshToken, { signal: gone.signal, client });
      if (!gone.signal.aborted) send(response, reply);
    } catch {
      request.socket.destroy();
    }
  }

  async function signIn(request: http.IncomingMessage, response: http.ServerResponse) {
    const params = await readParams(request);
    const set = server.signIn({ sub: text(params.sub) ?? text(params.username) });
    send(response, { status: 200, body: tokenResponseOf(set, server.lifeSeconds) });
  }

  return (request, response, next) => {
    const route = `${request.method} ${request.url?.split('?')[0]}`;
    const handled = route === 'POST /token' ? token(request, response) : route === 'POST /signin' ? signIn(request, response) : null;
    if (handled === null) return next ? next() : send(response, { status: 404, body: { error: 'not_found' } });
    handled.catch(() => {
      if (!response.headersSent) send(response, { status: 400, body: { error: 'invalid_request' } });
      else response.destroy();
    });
  };
}

export interface Listening {
  /** e.g. http://127.0.0.1:54321 */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `handler` on 127.0.0.1 at a free port. */
export async function listen(handler: Handler): Promise<Listening> {
  const httpServer = http.createServer((request, response) => handler(request, response));
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        httpServer.closeAllConnections();
        httpServer.close(() => resolve());
      }),
  };
}
