/**
 * A bearer-token API and its token server on 127.0.0.1, for sessionchart/fetch: sessionchart/testing's token
 * server at `POST /token` (the engine's `refresh` is sessionchart/oauth's against it), and the demo's resource API
 * (demo/resourceApi.ts) judging the tokens. `/api/echo` answers 200 with the body it received to a token the API
 * accepts, else its 401 (`Bearer error="invalid_token"`); `/api/scoped` answers every token with a 401
 * `insufficient_scope` challenge. Every API request is logged with the token it carried and its body.
 */
import http from 'node:http';
import type { RefreshFunction } from 'sessionchart';
import { createOAuthRefresh } from 'sessionchart/oauth';
import { bearerOf, createResourceApi, refuse } from '../../demo/resourceApi.js';
import { createTokenHandler, createTokenServer, listen, type TokenServer } from '../../src/testing/index.js';

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
  /** The token server: `signIn()` for the engine, its counters, faults and held requests. */
  tokens: TokenServer;
  /** The engine's refresh: the refresh_token grant at `POST /token`, over HTTP. */
  refresh: RefreshFunction;
  readonly requests: readonly ApiRequest[];
  /** The API stops accepting `accessToken`; the token server still counts its session valid. */
  revoke(accessToken: string): void;
  /** Every token is refused from now on, new ones included. */
  refuseEveryToken(): void;
  /** Holds API requests that carry `?hold=<name>`, before they are judged, until the gate opens. */
  hold(name: string): Gate;
  /** Settles once `condition` holds, checked on every API request and token request. */
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
  const tokens = createTokenServer();
  const resources = createResourceApi(tokens);
  const requests: ApiRequest[] = [];
  const gates = new Map<string, ReturnType<typeof createGate>>();
  const waiters: Array<{ condition: () => boolean; resolve: () => void }> = [];
  let refuseAll = false;

  const changed = () => {
    for (const waiter of [...waiters]) {
      if (!waiter.condition()) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  tokens.subscribe(changed);

  async function api(request: http.IncomingMessage, response: http.ServerResponse) {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(request);
    const hold = url.searchParams.get('hold');
    if (hold !== null) await gates.get(hold)?.pass();
    let status = 401;
    if (url.pathname === '/api/scoped') {
      response.writeHead(status, { 'www-authenticate': 'Bearer error="insufficient_scope", scope="admin"' }).end();
    } else if (!refuseAll && resources.accepted(request) !== null) {
      status = 200;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ n: url.searchParams.get('n'), body: body.toString('base64') }));
    } else {
      refuse(response);
    }
    const authorization = request.headers.authorization ?? null;
    requests.push({ n: url.searchParams.get('n'), token: bearerOf(request), authorization, headers: request.headers, body, status });
    changed();
  }

  const tokenEndpoint = createTokenHandler(tokens);
  const server = await listen((request, response) =>
    tokenEndpoint(request, response, () => {
      api(request, response).catch((error: unknown) => response.destroy(error as Error));
    }),
  );

  return {
    url: (path) => `${server.url}${path}`,
    tokens,
    refresh: createOAuthRefresh({ tokenEndpoint: `${server.url}/token`, clientId: 'app', allowInsecureRequests: true }),
    requests,
    revoke: (accessToken) => resources.revoke(accessToken),
    refuseEveryToken: () => (refuseAll = true),
    hold(name) {
      const gate = createGate();
      gates.set(name, gate);
      return gate;
    },
    until: (condition) =>
      new Promise<void>((resolve) => {
        waiters.push({ condition, resolve });
        changed();
      }),
    async close() {
      for (const held of gates.values()) held.open();
      await server.close();
    },
  };
}
