/**
 * Firebase Auth as a hot-path peer: the modular SDK's Node build, signed in against a stand-in for the
 * Auth emulator (two endpoints on loopback), then `user.getIdToken()` on the held token, which is the
 * same job as sessionchart's `getToken()`. Nothing is fetched once signed in.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deleteApp, initializeApp } from '@firebase/app';
import {
  connectAuthEmulator,
  getAuth,
  initializeAuth,
  signInWithCustomToken,
  type Persistence,
  type User,
} from '@firebase/auth';
import { FetchProvider } from '@firebase/auth/internal';
import type { EngineSetup, SimEngine } from './engines.js';
import type { TokenBody, TokenServer } from './server.js';

export interface FirebasePeer {
  user: User;
  /** Requests the stand-in answered, by path. */
  requests: string[];
  close(): Promise<void>;
}

/** Answers the two calls of a custom-token sign-in, as the Auth emulator would. */
function emulatorStandIn(idToken: string, lifeS: number, requests: string[]): Server {
  return createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const path = request.url ?? '';
      requests.push(path);
      response.setHeader('content-type', 'application/json');
      if (path.includes('accounts:signInWithCustomToken')) {
        response.end(JSON.stringify({ idToken, refreshToken: 'firebase-refresh', expiresIn: String(lifeS), localId: 'user-1' }));
      } else if (path.includes('accounts:lookup')) {
        response.end(JSON.stringify({ users: [{ localId: 'user-1' }] }));
      } else {
        response.statusCode = 400;
        response.end(JSON.stringify({ error: { code: 400, message: 'NOT_IN_THE_BENCH' } }));
      }
    });
  });
}

export async function firebaseWithUser(idToken: string, lifeS: number): Promise<FirebasePeer> {
  const requests: string[] = [];
  const server = emulatorStandIn(idToken, lifeS, requests);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const app = initializeApp({ apiKey: 'bench', projectId: 'bench' }, `bench-${Date.now()}`);
  const auth = getAuth(app);
  connectAuthEmulator(auth, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, { disableWarnings: true });
  const { user } = await signInWithCustomToken(auth, 'bench-custom-token');
  return {
    user,
    requests,
    close: async () => {
      await deleteApp(app);
      await new Promise((resolve) => server.close(resolve));
    },
  };
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

/** What Firebase's fetch reaches in the simulator: the token endpoint goes to the shared fake server. */
function firebaseFetch(server: TokenServer, signInBody: () => TokenBody) {
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
  return async (url: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const path = String(url);
    if (path.includes('accounts:signInWithCustomToken')) {
      const body = signInBody();
      return json(200, { idToken: body.access_token, refreshToken: body.refresh_token, expiresIn: String(body.expires_in), localId: 'user-1' });
    }
    if (path.includes('accounts:lookup')) return json(200, { users: [{ localId: 'user-1' }] });
    if (!path.includes('/v1/token')) throw new Error(`unexpected request ${path}`);
    const reply = await server.exchange(new URLSearchParams(String(init?.body)).get('refresh_token') ?? undefined);
    if (reply.status === 200) return json(200, reply.body);
    // securetoken's words: a revoked refresh token is TOKEN_EXPIRED, which Firebase answers with a sign-out.
    const message = reply.status === 400 ? 'TOKEN_EXPIRED' : reply.status === 429 ? 'TOO_MANY_ATTEMPTS_TRY_LATER' : 'UNAVAILABLE';
    const headers: Record<string, string> = reply.retryAfterS === undefined ? {} : { 'retry-after': String(reply.retryAfterS) };
    return json(reply.status, { error: { code: reply.status, message } }, headers);
  };
}

/**
 * Firebase Auth in the simulator: one app per tab over one OriginStorage, `user.getIdToken()` per call.
 * Firebase reaches the network through its FetchProvider, which this engine points at the fake server
 * for its run (each run has a process of its own). No auth-dependent SDK is loaded, so its proactive refresh stays off, as in
 * an app that uses Auth alone: tokens are refreshed when a call finds them within 30 s of expiry.
 */
export async function firebaseEngine({ server, tabs }: EngineSetup): Promise<SimEngine> {
  let pendingSignIn: TokenBody | null = null;
  FetchProvider.initialize(firebaseFetch(server, () => pendingSignIn!));
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
