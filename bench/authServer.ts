/**
 * The auth server every engine talks to: sessionchart/testing's token server, set up as the bench needs it.
 * Supabase's reuse rule (a replaced refresh token is answered for 10 s, a later replay revokes the session),
 * the schedule's faults, and a seeded latency on the fake clock. The server counts requests, replays and
 * early retries itself; the simulator's own counts (requests by the fault in force, per 15 minutes) are kept here.
 */
import { createTokenServer, type Fault, type TokenResponseBody, type TokenServer } from '../src/testing/index.js';
import type { Timeline } from './metrics.js';
import { faultAt, type FaultKind, type FaultWindow } from './schedule.js';

const REUSE_INTERVAL_MS = 10_000;
/** How long `fetch` takes to fail while the network is down or the server unreachable. */
const CONNECTION_FAILS_AFTER_MS = 50;
/**
 * Access tokens and replaced refresh tokens (per session) the server remembers, and no requests (the bench reads
 * its counters and events), so a 24 h run's memory stays flat and small and the heap figures are the engine's.
 * A token older than the last 256 is long expired, and is judged so when served.
 */
const REMEMBER = 256;

export interface AuthServerOptions {
  lifeS: number;
  skewMs: number;
  faults: readonly FaultWindow[];
  /** Draws the latency of each answer. */
  random: () => number;
  timeline: Timeline;
}

export interface AuthServer {
  readonly server: TokenServer;
  /** Requests by the fault in force when they were sent (`none`: no fault). */
  readonly requestsDuring: Record<FaultKind | 'none', number>;
  /** A new session, as after a sign-in (no network involved): its key and its token response. */
  signIn(): { sessionId: string; body: TokenResponseBody };
  /**
   * Local ms at which the request that brought `accessToken` was sent (a sign-in's: the sign-in), for the
   * contract's expiry measure, which counts a token's life from there; -Infinity for a token forgotten.
   */
  sentAt(accessToken: string): number;
}

/** The schedule's fault window as the token server's fault. */
function faultOf(window: FaultWindow): Fault {
  switch (window.kind) {
    case 'outage':
    case 'offline':
      return { kind: 'down', afterMs: CONNECTION_FAILS_AFTER_MS };
    case '5xx':
      return { kind: '5xx', status: 503 };
    case '429':
      return { kind: '429', retryAfterSeconds: window.retryAfterS! };
    case 'slow':
      return { kind: 'slow', latencyMs: window.latencyMs! };
  }
}

export function createAuthServer(options: AuthServerOptions): AuthServer {
  const server = createTokenServer({
    lifeSeconds: options.lifeS,
    skewMs: options.skewMs,
    clock: () => Date.now(),
    reuseGraceMs: REUSE_INTERVAL_MS,
    latencyMs: () => 80 + Math.round(options.random() * 170),
    faultAt: (now) => {
      const window = faultAt(options.faults, now);
      return window && faultOf(window);
    },
    remember: REMEMBER,
    rememberRequests: 0,
  });
  const requestsDuring: Record<FaultKind | 'none', number> = { none: 0, outage: 0, offline: 0, '5xx': 0, '429': 0, slow: 0 };
  server.subscribe((event) => {
    if (event.type !== 'request') return;
    options.timeline.request(event.request.at);
    requestsDuring[faultAt(options.faults, event.request.at)?.kind ?? 'none'] += 1;
  });
  return {
    server,
    requestsDuring,
    signIn() {
      const set = server.signIn();
      const sessionId = server.issued(set.accessToken)!.session.sid;
      const body: TokenResponseBody = {
        access_token: set.accessToken,
        token_type: 'Bearer',
        expires_in: server.lifeSeconds,
        refresh_token: set.refreshToken!,
      };
      return { sessionId, body };
    },
    sentAt(accessToken) {
      const issued = server.issued(accessToken);
      // Minted as its request arrived, on the server's clock: the local time is that less the skew.
      return issued === undefined ? Number.NEGATIVE_INFINITY : issued.issuedAt - server.skewMs;
    },
  };
}
