/**
 * Firebase Auth as a peer: the modular SDK's Node build, reaching the network only through its
 * FetchProvider, which the bench points at a stub: the custom-token sign-in's two calls are answered here,
 * the token endpoint (securetoken's `/v1/token`) by the shared fake server or, on the hot path, not at all.
 */
import { deleteApp, initializeApp } from '@firebase/app';
import { getAuth, initializeAuth, signInWithCustomToken, type Persistence, type User } from '@firebase/auth';
import { FetchProvider } from '@firebase/auth/internal';
import type { TokenReply, TokenResponseBody } from '../src/testing/index.js';
import type { EngineSetup, SimEngine } from './engines.js';

type Exchange = (refreshToken: string | undefined) => Promise<TokenReply>;

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

/** The token server's reply as securetoken's `/v1/token` answers. */
function secureTokenResponse(reply: TokenReply): Response {
  if (reply.status === 200) {
    const { access_token, refresh_token, expires_in } = reply.body as TokenResponseBody;
    const idToken = { access_token, id_token: access_token, refresh_token, token_type: 'Bearer', user_id: 'user-1' };
    return json(200, { ...idToken, expires_in: String(expires_in) });
  }
  // securetoken's words: a revoked refresh token is TOKEN_EXPIRED, which Firebase answers with a sign-out.
  const message = reply.status === 400 ? 'TOKEN_EXPIRED' : reply.status === 429 ? 'TOO_MANY_ATTEMPTS_TRY_LATER' : 'UNAVAILABLE';
  const headers: Record<string, string> = reply.retryAfterSeconds === undefined ? {} : { 'retry-after': String(reply.retryAfterSeconds) };
  return json(reply.status, { error: { code: reply.status, message } }, headers);
}

/** Firebase's fetch in the bench. `signInBody`: the tokens the next sign-in hands out. */
function firebaseFetch(signInBody: () => TokenResponseBody, exchange: Exchange) {
  return async (url: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const path = String(url);
    if (path.includes('accounts:signInWithCustomToken')) {
      const { access_token, refresh_token, expires_in } = signInBody();
      return json(200, { idToken: access_token, refreshToken: refresh_token, expiresIn: String(expires_in), localId: 'user-1' });
    }
    if (path.includes('accounts:lookup')) return json(200, { users: [{ localId: 'user-1' }] });
    if (!path.includes('/v1/token')) throw new Error(`unexpected request ${path}`);
    return secureTokenResponse(await exchange(new URLSearchParams(String(init?.body)).get('refresh_token') ?? undefined));
  };
}

/** Hot path: a user signed in with `body`'s tokens; any refresh request fails the bench. */
export async function firebaseWithUser(body: TokenResponseBody): Promise<{ user: User; close(): Promise<void> }> {
  FetchProvider.initialize(
    firebaseFetch(
      () => body,
      () => Promise.reject(new Error('Firebase made a request on the hot path')),
    ),
  );
  const app = initializeApp({ apiKey: 'bench', projectId: 'bench' }, 'hot-path');
  const { user } = await signInWithCustomToken(getAuth(app), 'bench-custom-token');
  return { user, close: () => deleteApp(app) };
}

/**
 * The origin's localStorage as Firebase's browserLocalPersistence sees it: one store for every tab, and a
 * write in one tab reaches the others as a `storage` event (here on the next microtask, which is sooner than
 * a browser, so it flatters Firebase). Tabs are Firebase apps of their own in one process, so the app
 * name ending every key (`firebase:authUser:<apiKey>:<app>`) is dropped to make them share one entry.
 */
class OriginStorage {
  static type = 'LOCAL' as const;
  readonly type = 'LOCAL' as const;
  private readonly values = new Map<string, unknown>();
  private readonly listeners = new Map<string, Set<() => void>>();
  private readonly shared = (key: string) => key.slice(0, key.lastIndexOf(':'));

  async _isAvailable() {
    return true;
  }
  async _set(key: string, value: unknown) {
    this.values.set(this.shared(key), value);
    this.notifyOthers(key);
  }
  async _get(key: string) {
    return this.values.get(this.shared(key)) ?? null;
  }
  async _remove(key: string) {
    this.values.delete(this.shared(key));
    this.notifyOthers(key);
  }
  _addListener(key: string, listener: () => void) {
    this.listeners.set(key, (this.listeners.get(key) ?? new Set()).add(listener));
  }
  _removeListener(key: string, listener: () => void) {
    this.listeners.get(key)?.delete(listener);
  }
  private notifyOthers(writer: string) {
    for (const [key, listeners] of this.listeners) {
      if (key === writer || this.shared(key) !== this.shared(writer)) continue;
      for (const listener of listeners) queueMicrotask(listener);
    }
  }
}

/**
 * Firebase Auth in the simulator: one app per tab over one OriginStorage, `user.getIdToken()` per call,
 * the token endpoint on the shared fake server (each run has a process of its own, so the FetchProvider is
 * this run's). No auth-dependent SDK is loaded, so its proactive refresh stays off, as in an app that uses
 * Auth alone: a token is refreshed when a call finds it within 5 minutes of expiry.
 */
export async function firebaseEngine({ server, tabs }: EngineSetup): Promise<SimEngine> {
  let pendingSignIn: TokenResponseBody | null = null;
  FetchProvider.initialize(firebaseFetch(() => pendingSignIn!, (refreshToken) => server.exchange(refreshToken)));
  const apps = Array.from({ length: tabs }, (_, tab) => initializeApp({ apiKey: 'bench', projectId: 'bench' }, `tab-${tab}`));
  const auths = apps.map((app) => initializeAuth(app, { persistence: OriginStorage as unknown as Persistence }));
  await Promise.all(auths.map((auth) => auth.authStateReady()));
  return {
    async getToken(tab) {
      const user = auths[tab]!.currentUser;
      return user === null ? null : user.getIdToken();
    },
    isSignedOut: (tab) => auths[tab]!.currentUser === null,
    signIn(body) {
      pendingSignIn = body;
      void signInWithCustomToken(auths[0]!, 'bench-custom-token');
    },
    setOnline: () => {},
    wake: () => {},
    stop() {
      FetchProvider.initialize(globalThis.fetch);
      for (const app of apps) void deleteApp(app);
    },
  };
}
