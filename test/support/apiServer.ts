/**
 * A bearer-token API and its token endpoint on 127.0.0.1, for sessionchart/fetch. `POST /token` mints a JWT
 * (what the engine's `refresh` calls); `/api/echo` answers 200 with the body it received to a token it issued
 * and has not revoked, else 401 (`Bearer error="invalid_token"`); `/api/scoped` answers every token with a 401
 * `insufficient_scope` challenge. Every API request is logged with the token it carried and its body.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthError, NetworkError, type RefreshFunction, type TokenSet } from 'sessionchart';
import { mint } from './tokens.js';

export interface ApiRequest {
  /** The `n` query parameter: which caller sent it. */
  n: string | null;
  /** The bearer token it carried, or null. */
  token: string | null;
  authorization: string | null;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  status: number;
}

/** Requests that wait at a gate until it opens; `arrived` settles when the first one is there. */
export interface Gate {
  arrived: Promise<void>;
  open(): void;
}

export interface ApiServer {
  url(path: string): string;
  /** A token set the API accepts, for `engine.signIn`. */
  signIn(): TokenSet;
  /** The engine's refresh: `POST /token` over HTTP. A refused refresh is an AuthError, a 503 a NetworkError. */
  refresh: RefreshFunction;
  readonly requests: readonly ApiRequest[];
  /** `POST /token` requests received. */
  readonly refreshes: number;
  revoke(token: string): void;
  /** Every token is refused from now on, new ones included. */
  refuseEveryToken(): void;
  /** The token endpoint answers `invalid_grant` (the session is over) or 503 from now on. */
  failRefreshes(how: 'invalid_grant' | 'unavailable'): void;
  /** Holds `POST /token` requests until the gate opens. */
  holdRefreshes(): Gate;
  /** Holds API requests that carry `?hold=<name>`, before they are judged, until the gate opens. */
  hold(name: string): Gate;
  /** Settles once `condition` holds, checked on every request. */
  until(condition: () => boolean): Promise<void>;
  close(): Promise<void>;
}

function createGate(): Gate & { pass(): Promise<void> } {
  let arrive!: () => void;
  let open!: () => void;
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  const opened = new Promise<void>((resolve) => (open = resolve));
  return {
    arrived,
    open,
    pass() {
      arrive();
      return opened;
    },
  };
}

async function readBody(request: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startApiServer(): Promise<ApiServer> {
  const issued = new Set<string>();
  const requests: ApiRequest[] = [];
  const gates = new Map<string, ReturnType<typeof createGate>>();
  const waiters: Array<{ condition: () => boolean; resolve: () => void }> = [];
  let refreshes = 0;
  let refuseAll = false;
  let refreshFailure: 'invalid_grant' | 'unavailable' | null = null;

  const changed = () => {
    for (const waiter of [...waiters]) {
      if (!waiter.condition()) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  const issue = () => {
    const tokens = mint({ life: 60 });
    issued.add(tokens.accessToken);
    return tokens;
  };

  async function token(response: http.ServerResponse) {
    refreshes += 1;
    changed();
    await gates.get('token')?.pass();
    if (refreshFailure === 'invalid_grant') return response.writeHead(400).end('{"error":"invalid_grant"}');
    if (refreshFailure === 'unavailable') return response.writeHead(503).end();
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(issue()));
  }

  async function api(request: http.IncomingMessage, response: http.ServerResponse, url: URL) {
    const body = await readBody(request);
    const hold = url.searchParams.get('hold');
    if (hold !== null) await gates.get(hold)?.pass();
    const authorization = request.headers.authorization ?? null;
    const token = authorization?.match(/^Bearer (.+)$/)?.[1] ?? null;
    const accepted = token !== null && issued.has(token) && !refuseAll;
    let status: number;
    if (url.pathname === '/api/scoped') {
      status = 401;
      response.writeHead(status, { 'www-authenticate': 'Bearer error="insufficient_scope", scope="admin"' }).end();
    } else if (accepted) {
      status = 200;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ n: url.searchParams.get('n'), body: body.toString('base64') }));
    } else {
      status = 401;
      response.writeHead(status, { 'www-authenticate': 'Bearer error="invalid_token"' }).end('refused');
    }
    requests.push({ n: url.searchParams.get('n'), token, authorization, headers: request.headers, body, status });
    changed();
  }

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const handled = url.pathname === '/token' ? token(response) : api(request, response, url);
    handled.catch((error: unknown) => response.destroy(error as Error));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const gate = (name: string): Gate => {
    const created = createGate();
    gates.set(name, created);
    return created;
  };

  return {
    url: (path) => `${origin}${path}`,
    signIn: issue,
    async refresh({ signal }) {
      const response = await fetch(`${origin}/token`, { method: 'POST', signal });
      if (response.status === 400) throw new AuthError('The token endpoint refused the session');
      if (!response.ok) throw new NetworkError(`The token endpoint answered HTTP ${response.status}`);
      return (await response.json()) as TokenSet;
    },
    requests,
    get refreshes() {
      return refreshes;
    },
    revoke: (token) => issued.delete(token),
    refuseEveryToken: () => (refuseAll = true),
    failRefreshes: (how) => (refreshFailure = how),
    holdRefreshes: () => gate('token'),
    hold: gate,
    until: (condition) =>
      new Promise<void>((resolve) => {
        waiters.push({ condition, resolve });
        changed();
      }),
    async close() {
      for (const held of gates.values()) held.open();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
