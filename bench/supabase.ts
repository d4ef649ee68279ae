/**
 * Supabase auth-js as a peer: `GoTrueClient`s over an in-memory storage (a `Map` behind its storage
 * interface, holding JSON strings as `localStorage` would) and a fetch stub that speaks GoTrue's
 * `/token?grant_type=refresh_token`: the shared fake server answers it, or, on the hot path, nothing does.
 */
import { GoTrueClient } from '@supabase/auth-js';
import { decodeClaims, type TokenReply, type TokenResponseBody } from '../src/testing/index.js';
import { flushMicrotasks, type EngineSetup, type SimEngine } from './engines.js';

const STORAGE_KEY = 'sb-bench-auth-token';
const USER = { id: 'user-1', aud: 'authenticated', role: 'authenticated', email: 'bench@example.com' } as const;

/** A token response as GoTrue sends it (and auth-js stores it): with `expires_at`, the token's `exp` in server seconds, and the user. */
function goTrueSession(body: TokenResponseBody) {
  const { exp } = decodeClaims(body.access_token) as { exp: number };
  return {
    access_token: body.access_token,
    refresh_token: body.refresh_token,
    token_type: 'bearer',
    expires_in: body.expires_in,
    expires_at: exp,
    user: USER,
  };
}

/** GoTrue's error codes for the statuses the bench's server answers with. */
const ERROR_CODES: Record<number, string> = { 400: 'refresh_token_not_found', 429: 'over_request_rate_limit', 503: 'unavailable' };

/** The token server's reply as GoTrue's `/token` answers. */
function goTrueResponse(reply: TokenReply): Response {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (reply.status === 200) return new Response(JSON.stringify(goTrueSession(reply.body as TokenResponseBody)), { status: 200, headers });
  if (reply.retryAfterSeconds !== undefined) headers['retry-after'] = String(reply.retryAfterSeconds);
  const code = ERROR_CODES[reply.status] ?? 'unexpected_failure';
  return new Response(JSON.stringify({ code, msg: code }), { status: reply.status, headers });
}

function goTrueClient(storage: Map<string, string>, autoRefreshToken: boolean, fetch: typeof globalThis.fetch) {
  return new GoTrueClient({
    url: 'https://bench.invalid/auth/v1',
    storageKey: STORAGE_KEY,
    storage: {
      getItem: (key) => storage.get(key) ?? null,
      setItem: (key, value) => void storage.set(key, value),
      removeItem: (key) => void storage.delete(key),
    },
    autoRefreshToken,
    persistSession: true,
    detectSessionInUrl: false,
    fetch,
  });
}

/** Hot path: a client holding `body`'s session; any request fails the bench. */
export async function supabaseWithSession(body: TokenResponseBody): Promise<GoTrueClient> {
  const storage = new Map([[STORAGE_KEY, JSON.stringify(goTrueSession(body))]]);
  const client = goTrueClient(storage, false, () => Promise.reject(new Error('Supabase made a request on the hot path')));
  await client.initialize();
  return client;
}

/**
 * Supabase auth-js as shipped: K GoTrueClients on one in-memory storage (the origin's localStorage), each
 * with its autoRefresh ticker on the fake clock. Only tab 0's ticker runs: in a browser the ticker runs in
 * visible tabs only.
 */
export async function supabaseEngine({ server, tabs }: EngineSetup): Promise<SimEngine> {
  const storage = new Map<string, string>();
  const fetch = async (url: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    if (!String(url).includes('/token?grant_type=refresh_token')) throw new Error(`unexpected request ${String(url)}`);
    const { refresh_token } = JSON.parse(String(init?.body)) as { refresh_token: string };
    return goTrueResponse(await server.exchange(refresh_token));
  };
  const clients = Array.from({ length: tabs }, () => goTrueClient(storage, true, fetch));
  await Promise.all(clients.map((client) => client.initialize()));
  await flushMicrotasks();
  await Promise.all(clients.slice(1).map((client) => client.stopAutoRefresh()));
  return {
    async getToken(tab) {
      const { data } = await clients[tab]!.getSession();
      return data.session?.access_token ?? null;
    },
    isSignedOut: () => !storage.has(STORAGE_KEY),
    signIn: (body) => void storage.set(STORAGE_KEY, JSON.stringify(goTrueSession(body))),
    setOnline: () => {},
    wake: () => {},
    stop() {
      for (const client of clients) void client.stopAutoRefresh();
    },
  };
}
