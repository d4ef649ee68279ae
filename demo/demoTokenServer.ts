/**
 * The web demo's token server: sessionchart/testing's (HS256 JWTs with a `sid`, rotating refresh tokens, a
 * replay revoking the session) over HTTP, with the page's settings mapped onto it: the token life, the server's
 * clock ahead of ours, a failure for every refresh, a latency, and the laptop's sleep (its clock and ours
 * moved as much ahead of the real time).
 */
import { createTokenHandler, createTokenServer, listen, type Fault, type TokenServer } from '../src/testing/index.js';

/** `unavailable`: 503; `rateLimited`: 429 with Retry-After; `hang`: no answer until the mode changes. */
export type FailureMode = 'none' | 'unavailable' | 'rateLimited' | 'hang';

export interface TokenServerSettings {
  lifeSeconds: number;
  /** How long each request (refresh or sign-in) waits before the server processes it, ms. */
  latencyMs: number;
  failure: FailureMode;
  /** The server's clock minus ours, ms (set by the demo, as a badly set server clock). */
  clockAheadMs: number;
  /** How far the demo's laptop "slept": both clocks moved this much ahead of the real time, ms. */
  sleptMs: number;
  /** What a 429 asks clients to wait, seconds. */
  retryAfterSeconds: number;
}

/** What the page may change (the sleep only adds up). */
export type SettingsChange = Partial<Pick<TokenServerSettings, 'lifeSeconds' | 'latencyMs' | 'failure' | 'clockAheadMs'>>;

const RETRY_AFTER_S = 3;
const FAULTS: Record<FailureMode, Fault | null> = {
  none: null,
  unavailable: { kind: '5xx', status: 503 },
  rateLimited: { kind: '429', retryAfterSeconds: RETRY_AFTER_S },
  hang: { kind: 'hang' },
};

export interface DemoTokenServer {
  readonly server: TokenServer;
  /** Base URL, e.g. http://127.0.0.1:54321 */
  readonly url: string;
  settings(): TokenServerSettings;
  change(settings: SettingsChange): void;
  /** The laptop slept: both clocks jump `ms` ahead (the page moves its own Date.now() as much). */
  sleep(ms: number): void;
  close(): Promise<void>;
}

export async function startDemoTokenServer(lifeSeconds: number): Promise<DemoTokenServer> {
  let sleptMs = 0;
  let latencyMs = 0;
  // The page signs in as 'ada': the server's sessions are hers, on every refresh too.
  const server = createTokenServer({ lifeSeconds, subject: 'ada', clock: () => Date.now() + sleptMs });
  // The latency passes before the server processes a request (not on the answer's way back): a refresh the
  // engine gives up on meanwhile (its refreshTimeoutMs) has spent nothing, and its retry is no replay.
  server.subscribe((event) => {
    if (event.type === 'request' && event.request.state === 'held') setTimeout(() => event.request.release(), latencyMs);
  });
  const handler = createTokenHandler(server);
  // A sign-in takes as long.
  const listening = await listen((request, response) => {
    if (request.url === '/signin' && latencyMs > 0) setTimeout(() => handler(request, response), latencyMs);
    else handler(request, response);
  });

  return {
    server,
    url: listening.url,
    settings: () => ({
      lifeSeconds: server.lifeSeconds,
      latencyMs,
      failure: (Object.keys(FAULTS) as FailureMode[]).find((mode) => FAULTS[mode] === server.fault) ?? 'none',
      clockAheadMs: server.skewMs,
      sleptMs,
      retryAfterSeconds: RETRY_AFTER_S,
    }),
    change(settings) {
      if (settings.lifeSeconds !== undefined) server.lifeSeconds = settings.lifeSeconds;
      if (settings.clockAheadMs !== undefined) server.skewMs = settings.clockAheadMs;
      if (settings.failure !== undefined) server.fault = FAULTS[settings.failure];
      if (settings.latencyMs !== undefined) {
        latencyMs = settings.latencyMs;
        server.holdRequests(latencyMs > 0);
      }
    },
    sleep(ms) {
      sleptMs += ms;
    },
    close: () => listening.close(),
  };
}
