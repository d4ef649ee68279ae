/**
 * The demo page's engine: a real `createSessionEngine` whose `refresh` calls the local token server through
 * the Vite proxy (`/auth/token`), with a demo network switch (`network$`) and wake-ups (`wake$`).
 */
import { BehaviorSubject, Subject, merge } from 'rxjs';
import {
  AuthError,
  NetworkError,
  createSessionEngine,
  type RefreshContext,
  type RefreshReason,
  type SessionEngine,
  type SessionEngineOptions,
  type TokenSet,
} from '../../src/index.js';
import { defaultResume$ } from '../../src/engine/environment.js';
import { activePaths } from '../../src/viewer/index.js';
import type { TokenResponseBody } from '../../src/testing/index.js';
import type { TokenServerSettings } from '../demoTokenServer.js';
import { demoClock } from './clock.js';

/** The engine's limit on one refresh request (`refreshTimeoutMs`): a hanging server becomes a network fault. */
export const REFRESH_TIMEOUT_MS = 4_000;
export const LEEWAY_MS = 2_000;
export const RETRY = { baseMs: 1_000, maxMs: 8_000 };
export const SLEEP_MS = 10 * 60_000;

export type MachineSnapshot = ReturnType<SessionEngine['actor']['getSnapshot']>;
/** The top-level state (`offline` for `offline.waiting`): what the demo's words are about. */
export const topState = (snapshot: { value: unknown }): string => activePaths(snapshot.value)[0] ?? '';

/** The demo's "network": false makes every request fail at once, as a browser without network does. */
export const network$ = new BehaviorSubject(true);
/** A resume of the page or the device (the demo's sleep), besides the browser's own visibility events. */
export const wake$ = new Subject<void>();

/** The states of a session still trying to get a token: a failure is news until the session leaves them. */
export const isTrying = (snapshot: MachineSnapshot) => ['refreshing', 'offline', 'rotated'].includes(topState(snapshot));

/** `fetch` on the demo's network: switched off, every request fails at once, as without network. */
export const demoNetworkFetch: typeof fetch = (input, init) =>
  network$.value ? fetch(input, init) : Promise.reject(new TypeError('Failed to fetch (the demo network is off)'));

/** The refreshes this page's engine asked for, by reason: a reload's note counts its `restore` ones. */
export const refreshesAsked = new Map<RefreshReason, number>();

const tokenSetOf = (body: TokenResponseBody): TokenSet => ({ accessToken: body.access_token, refreshToken: body.refresh_token });

const postForm = (path: string, form: Record<string, string>, signal?: AbortSignal): Promise<Response> =>
  demoNetworkFetch(path, { method: 'POST', body: new URLSearchParams(form), signal });

/** The app's `refresh`: one POST to the token endpoint, failures mapped to sessionchart's error classes. */
async function refresh({ refreshToken, reason, signal }: RefreshContext): Promise<TokenSet> {
  refreshesAsked.set(reason, (refreshesAsked.get(reason) ?? 0) + 1);
  let response: Response;
  try {
    response = await postForm('/auth/token', { grant_type: 'refresh_token', refresh_token: refreshToken ?? '' }, signal);
  } catch (cause) {
    throw new NetworkError('The token endpoint cannot be reached', { cause });
  }
  const body = (await response.json().catch(() => ({}))) as Partial<TokenResponseBody> & { error?: string };
  if (body.error === 'invalid_grant' || response.status === 401) throw new AuthError('The refresh token was refused');
  if (response.status === 429) {
    const retryAfterMs = Number(response.headers.get('retry-after')) * 1_000 || undefined;
    throw new NetworkError('The token endpoint asked us to slow down (429)', { retryAfterMs });
  }
  if (!response.ok) throw new NetworkError(`The token endpoint answered ${response.status}`);
  return tokenSetOf(body as TokenResponseBody);
}

export async function signInAtServer(): Promise<TokenSet> {
  const response = await postForm('/auth/signin', { username: 'ada' });
  if (!response.ok) throw new Error(`sign-in answered ${response.status}`);
  return tokenSetOf((await response.json()) as TokenResponseBody);
}

/** The token server's settings: GET, or POST to change them (`/settings`, `/sleep`, `/rotate`). */
export async function demoApi(path: string, body?: object): Promise<TokenServerSettings> {
  const init = body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  const response = await fetch(`/demo-api${path}`, init);
  if (!response.ok) throw new Error(`demo-api${path} answered ${response.status}`);
  return (await response.json()) as TokenServerSettings;
}

/** Every tab is on the same laptop: a sleep in one moves the clock of all, and each of them wakes up. */
const clockChannel = new BroadcastChannel('sessionchart-demo-clock');
clockChannel.onmessage = (message: MessageEvent<{ sleptMs: number }>) => {
  demoClock.setSlept(message.data.sleptMs);
  wake$.next();
};

export async function sleepLaptop(): Promise<TokenServerSettings> {
  const settings = await demoApi('/sleep', { ms: SLEEP_MS });
  demoClock.setSlept(settings.sleptMs);
  clockChannel.postMessage({ sleptMs: settings.sleptMs });
  wake$.next();
  return settings;
}

export function createDemoEngine(inspect: SessionEngineOptions['inspect']): SessionEngine {
  return createSessionEngine({
    inspect,
    refresh,
    leewayMs: LEEWAY_MS,
    retry: RETRY,
    refreshTimeoutMs: REFRESH_TIMEOUT_MS,
    online$: network$,
    resume$: merge(defaultResume$(), wake$),
    broadcast: { channel: 'sessionchart-demo' },
  });
}
