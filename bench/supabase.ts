/**
 * Supabase auth-js as a peer: `GoTrueClient`s over an in-memory storage (a `Map` behind its storage
 * interface, holding JSON strings as `localStorage` would) and a fetch stub that speaks GoTrue's
 * `/token?grant_type=refresh_token`: the shared fake server answers it, or, on the hot path, nothing does.
 */
import { GoTrueClient } from '@supabase/auth-js';
import { flushMicrotasks, type EngineSetup, type SimEngine } from './engines.js';
import type { TokenBody } from './server.js';

const STORAGE_KEY = 'sb-bench-auth-token';

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
export async function supabaseWithSession(body: TokenBody): Promise<GoTrueClient> {
  const storage = new Map([[STORAGE_KEY, JSON.stringify(body)]]);
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
    const reply = await server.exchange(refresh_token);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (reply.status !== 200 && reply.retryAfterS !== undefined) headers['retry-after'] = String(reply.retryAfterS);
    return new Response(JSON.stringify(reply.body), { status: reply.status, headers });
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
    signIn: (body) => void storage.set(STORAGE_KEY, JSON.stringify(body)),
    setOnline: () => {},
    wake: () => {},
    stop() {
      for (const client of clients) void client.stopAutoRefresh();
    },
  };
}
