/**
 * `npm run demo:cli`: the session engine against a real local token endpoint (sessionchart/testing's token server
 * over HTTP), narrated in the terminal. Tokens are never printed, only how long they have left. Exits by itself
 * (1 on any failure or after 60 s).
 */
import { BehaviorSubject, Subject } from 'rxjs';
import { waitFor } from 'xstate';
import {
  AuthError,
  NetworkError,
  SessionError,
  createSessionEngine,
  type RefreshContext,
  type SessionEngine,
  type SessionSnapshot,
  type TokenSet,
} from '../src/index.js';
import { stateText } from '../src/viewer/index.js';
import { createTokenHandler, createTokenServer, listen, type TokenResponseBody, type TokenServer } from '../src/testing/index.js';

const TOKEN_LIFE_S = 10;
const SERVER_CLOCK_AHEAD_MS = 90_000;
// The default 5 s leeway would leave a 10 s token no stale phase at all; real tokens live minutes.
const LEEWAY_MS = 2_000;
const STEP_TIMEOUT_MS = 15_000;
const DEMO_TIMEOUT_MS = 60_000;

// The demo cannot put this machine to sleep. It moves Date.now() forward instead (see step 4): the engine
// reads time only from Date.now(), and timers armed before keep their real delays, as after a real sleep.
const realNow = Date.now.bind(Date);
let sleptMs = 0;
Date.now = () => realNow() + sleptMs;

const startedAt = performance.now();
const stamp = () => `${((performance.now() - startedAt) / 1000).toFixed(2).padStart(6)}s`;
const say = (text: string) => console.log(`${stamp()}  ${text}`);
const detail = (text: string) => console.log(`         ${text}`);
const heading = (text: string) => console.log(`\n${text}`);
const secondsLeft = (expiresAt: number | null) =>
  expiresAt === null ? 'no token' : `token ${((expiresAt - Date.now()) / 1000).toFixed(1)} s left`;

function describeFailure(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}

function tokenSetOf(body: TokenResponseBody): TokenSet {
  // No expiresIn on purpose: the engine then reads exp - iat from the JWT, which shows the clock-skew handling.
  return { accessToken: body.access_token, refreshToken: body.refresh_token };
}

/** The app's `refresh`: one POST to the token endpoint, failures mapped to the engine's error classes. */
function createRefresh(url: string) {
  let requests = 0;
  return async function refresh({ refreshToken, reason, signal }: RefreshContext): Promise<TokenSet> {
    const request = ++requests;
    detail(`refresh #${request} sent (reason: ${reason})`);
    try {
      const response = await fetch(`${url}/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken ?? '' }),
        signal,
      });
      const body = (await response.json()) as TokenResponseBody & { error?: string };
      detail(`refresh #${request} answered ${response.status}${body.error ? ` ${body.error}` : ''}`);
      if (body.error === 'invalid_grant') throw new AuthError('The refresh token was refused');
      if (!response.ok) throw new NetworkError(`The token endpoint answered ${response.status}`);
      return tokenSetOf(body);
    } catch (error) {
      if (error instanceof SessionError) throw error;
      if (signal.aborted) detail(`refresh #${request} aborted: the state that started it was left`);
      else detail(`refresh #${request} failed: ${describeFailure(error)}`);
      throw new NetworkError('The token endpoint cannot be reached', { cause: error });
    }
  };
}

async function signInAt(url: string): Promise<TokenSet> {
  const response = await fetch(`${url}/signin`, {
    method: 'POST',
    body: new URLSearchParams({ username: 'ada' }),
  });
  if (!response.ok) throw new Error(`sign-in failed with ${response.status}`);
  return tokenSetOf((await response.json()) as TokenResponseBody);
}

/**
 * Prints every change of state with the remaining life of the held token. The engine's snapshot has the flat
 * status (`offline`); the actor adds the substates (`offline.backingOff.open`), which change without the snapshot.
 */
function narrate(engine: SessionEngine) {
  const stateOf = () => stateText(engine.actor.getSnapshot().value);
  let state = stateOf();
  let expiresAt: number | null = null;
  const report = (snapshot: Pick<SessionSnapshot, 'expiresAt' | 'error'>) => {
    const next = stateOf();
    if (next === state && snapshot.expiresAt === expiresAt) return;
    const error = snapshot.error ? `  error: ${snapshot.error.code}` : '';
    say(`${`${state} → ${next}`.padEnd(38)} ${secondsLeft(snapshot.expiresAt)}${error}`);
    state = next;
    expiresAt = snapshot.expiresAt;
  };
  engine.subscribe(report);
  engine.actor.subscribe(({ context }) => report({ expiresAt: context.token?.expiresAt ?? null, error: context.error }));
  let sessions = 0;
  engine.session$.subscribe((session) => {
    if (session === null && sessions === 0) return;
    sessions += 1;
    detail(`session$ → ${session ? `${session.sessionKey} (user ${session.userId})` : 'null'}`);
  });
}

const until = (engine: SessionEngine, label: string, done: (s: ReturnType<SessionEngine['actor']['getSnapshot']>) => boolean) =>
  waitFor(engine.actor, done, { timeout: STEP_TIMEOUT_MS }).catch((cause: unknown) => {
    throw new Error(`the engine did not reach "${label}" in time`, { cause });
  });
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function run(server: TokenServer, url: string, engine: SessionEngine, online$: BehaviorSubject<boolean>, resume$: Subject<void>) {
  const sessionKey = () => engine.getSnapshot().sessionKey ?? 'none';
  const refreshedAt = () => engine.actor.getSnapshot().context.lastRefreshAt;

  heading('1. Sign-in');
  engine.signIn(await signInAt(url));
  const offset = engine.actor.getSnapshot().context.token?.serverOffsetMs ?? 0;
  detail(`the server's clock reads ${(offset / 1000).toFixed(1)} s ahead of ours (its iat at receipt, whole seconds);`);
  detail(`expiry is counted from receipt on our clock, so the token still lives ${TOKEN_LIFE_S} s here`);
  const first = await engine.getToken();
  detail(`getToken() answered at once: ${first ? secondsLeft(engine.getSnapshot().expiresAt) : 'null'}`);

  heading(`2. Background refresh, due at half-life: min(15 s threshold, ${TOKEN_LIFE_S} s / 2) before expiry`);
  const before = refreshedAt();
  await until(engine, 'a refreshed fresh token', (s) => s.matches('fresh') && s.context.lastRefreshAt !== before);

  heading('3. Outage: the server answers 503, then it and the network go down, then both come back');
  server.fault = { kind: '5xx', status: 503 };
  const forced = await engine.getToken({ forceRefresh: true }).catch((error: unknown) => error);
  detail(`getToken({ forceRefresh: true }) rejected with code "${(forced as SessionError).code}"; the token is kept`);
  await pause(2_500);
  server.fault = { kind: 'down' };
  detail('server down (it drops every connection), online$ → false');
  online$.next(false);
  detail(`peekToken() while the token is valid: ${engine.peekToken() ? 'a token' : 'null'}`);
  const unservableAt = (engine.getSnapshot().expiresAt ?? 0) - LEEWAY_MS;
  await pause(Math.max(0, unservableAt - Date.now()) + 100);
  const outage = await engine.getToken().catch((error: unknown) => error);
  detail(`token within the ${LEEWAY_MS / 1000} s leeway: getToken() tried once and rejected with code "${(outage as SessionError).code}"`);
  await until(engine, 'offline', (s) => s.matches('offline'));
  detail(`still signed in: status ${engine.getSnapshot().status}, session ${sessionKey()}`);
  server.fault = null;
  detail('server back, online$ → true');
  online$.next(true);
  await until(engine, 'fresh after the outage', (s) => s.matches('fresh'));

  heading('4. Sleep');
  detail('This process cannot sleep, so it moves Date.now() one hour forward (for the engine and the server');
  detail('alike) while the timers armed before keep their real delays: what a laptop lid does.');
  sleptMs += 3_600_000;
  detail(`peekToken() right after waking: ${engine.peekToken() === null ? 'null (the clock says expired)' : 'a token'}`);
  detail('resume$ emits (the page or device woke up), then three callers ask for a token at once');
  resume$.next();
  const served = server.counters.granted;
  const tokens = await Promise.all([engine.getToken(), engine.getToken(), engine.getToken()]);
  const distinct = new Set(tokens.filter(Boolean)).size;
  detail(`${tokens.length} callers, ${distinct} distinct token, ${server.counters.granted - served} refresh request`);

  heading('5. Rotation');
  server.rotateSession(sessionKey());
  detail('the server rotated the session (say, a password change); the next background refresh brings the new sid');
  const rotatedFrom = sessionKey();
  await until(engine, 'the new session', (s) => s.matches('fresh') && s.context.session?.sessionKey !== rotatedFrom);
  server.rotateSession(sessionKey());
  detail('rotated again, and this time the provider tells the app without a token: engine.rotate()');
  engine.rotate();
  detail(`peekToken() after rotate(): ${engine.peekToken() === null ? 'null (the old session is never served)' : 'a token'}`);
  const afterRotation = await engine.getToken();
  detail(`getToken() waited for the new session's token: ${afterRotation ? `session ${sessionKey()}` : 'null'}`);

  heading('6. Sign-out while a refresh is in flight');
  server.latencyMs = 1_500;
  const pending = engine.getToken({ forceRefresh: true });
  await until(engine, 'refreshing', (s) => s.hasTag('fetching'));
  engine.signOut();
  detail(`the waiting getToken({ forceRefresh: true }) resolved ${String(await pending)}`);
  detail(`getToken() after sign-out: ${String(await engine.getToken())}`);
}

async function main(): Promise<void> {
  // Its clock is Date.now() (read at each call), so the sleep of step 4 moves it as much as ours. The demo signs
  // in as 'ada': the server's sessions are hers, on every refresh too.
  const server = createTokenServer({ lifeSeconds: TOKEN_LIFE_S, skewMs: SERVER_CLOCK_AHEAD_MS, subject: 'ada', clock: () => Date.now() });
  const { url, close } = await listen(createTokenHandler(server));
  const online$ = new BehaviorSubject(true);
  const resume$ = new Subject<void>();
  const engine = createSessionEngine({
    refresh: createRefresh(url),
    leewayMs: LEEWAY_MS,
    retry: { baseMs: 500, maxMs: 2_000 },
    online$,
    resume$,
  });
  console.log(`sessionchart demo: token endpoint ${url}, tokens live ${TOKEN_LIFE_S} s.`);
  console.log('Each line is a state change of the engine with the remaining life of its token.');
  narrate(engine);
  try {
    await run(server, url, engine, online$, resume$);
  } finally {
    engine.stop();
    await close();
  }
}

// Kept referenced on purpose: should a step wait on nothing at all, the process must not end as a success.
setTimeout(() => {
  console.error(`\ndemo: gave up after ${DEMO_TIMEOUT_MS / 1000} s`);
  process.exit(1);
}, DEMO_TIMEOUT_MS);

main().then(
  () => {
    console.log('\ndone.');
    process.exit(0);
  },
  (error: unknown) => {
    console.error('\ndemo failed:', error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
