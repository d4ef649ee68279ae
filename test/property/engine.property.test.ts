import fc from 'fast-check';
import { describe, it, vi } from 'vitest';
import { AuthError, NetworkError } from '../../src/errors.js';
import type { TokenSet } from '../../src/types.js';
import { DEFAULT_SESSION_KEY_CLAIMS, parseRefreshAnswer } from '../../src/engine/claims.js';
import type { SessionInfo, SessionToken } from '../../machines/types.js';
import { InvariantHarness, flushMicrotasks, type RefreshAnswer, type RefreshCall } from '../support/invariantHarness.js';
import { afterStop, listenerThatThrows, type ListenerKind } from '../support/engineUse.js';

/**
 * Random command sequences on a real engine, with the refresh answers released in an order fast-check's
 * scheduler picks (late answers of aborted requests included, some never answered), checking the contract's
 * eight invariants after every command. The commands include network drops and rotations during a request,
 * hung requests, sane and senseless Retry-After values, clock jumps both ways, storms of online and wake
 * signals, listeners that throw, and use after stop. 1,000 runs; SESSIONCHART_PROPERTY_RUNS=<n> runs n (mutation testing uses a few), set to
 * anything else 10,000.
 */

const RUNS_SET = process.env.SESSIONCHART_PROPERTY_RUNS;
const RUNS = RUNS_SET ? Number.parseInt(RUNS_SET, 10) || 10_000 : 1_000;
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const FAKED = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] as const;

const token = fc.record({
  session: fc.constantFrom('same' as const, 'other' as const),
  // Some shorter than the 5 s leeway: never servable, refreshed at once.
  lifeS: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 9, max: 120 })),
  skewMs: fc.integer({ min: -3_600_000, max: 3_600_000 }),
  opaque: fc.boolean(),
});

type TokenChoice = typeof token extends fc.Arbitrary<infer T> ? T : never;

const outcome = fc.oneof(
  { arbitrary: token.map((t) => ({ kind: 'token' as const, ...t })), weight: 8 },
  {
    arbitrary: fc
      .constantFrom('notAnObject', 'noExpiry', 'emptyToken', 'badJwt', 'badJwtNewRefreshToken')
      .map((v) => ({ kind: 'garbage' as const, v })),
    weight: 1,
  },
  {
    arbitrary: fc
      .oneof(
        fc.constant(undefined),
        fc.integer({ min: 1, max: 90_000 }),
        // What a Retry-After date parsed with Number, or a server's garbage, makes of it: never a loop.
        fc.constantFrom(Number.NaN, -5_000, 0, Number.POSITIVE_INFINITY, 1e12),
      )
      .map((retryAfterMs) => ({ kind: 'network' as const, retryAfterMs })),
    weight: 2,
  },
  // A request that never answers: only refreshTimeoutMs ends it.
  { arbitrary: fc.constant({ kind: 'hang' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'thrown' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'auth' as const }), weight: 1 },
);

type Outcome = typeof outcome extends fc.Arbitrary<infer T> ? T : never;

const command = fc.oneof(
  { arbitrary: fc.constant({ type: 'getToken' as const }), weight: 5 },
  { arbitrary: fc.constant({ type: 'forceRefresh' as const }), weight: 2 },
  { arbitrary: fc.constant({ type: 'peek' as const }), weight: 1 },
  { arbitrary: fc.constant({ type: 'read' as const }), weight: 1 },
  { arbitrary: token.map((t) => ({ type: 'signIn' as const, ...t })), weight: 2 },
  { arbitrary: fc.constant({ type: 'signInGarbage' as const }), weight: 1 },
  { arbitrary: fc.constant({ type: 'signOut' as const }), weight: 1 },
  { arbitrary: fc.constant({ type: 'rotate' as const }), weight: 1 },
  { arbitrary: fc.boolean().map((up) => ({ type: 'network' as const, up })), weight: 2 },
  { arbitrary: fc.constant({ type: 'resume' as const }), weight: 1 },
  // Laptop sleep: the clock jumps, timers do not run; up to past any token's expiry.
  { arbitrary: fc.integer({ min: 1, max: 200_000 }).map((ms) => ({ type: 'sleep' as const, ms })), weight: 2 },
  // The wall clock set back (by hand, or a time sync): real time goes on.
  { arbitrary: fc.integer({ min: 1, max: 3_600_000 }).map((ms) => ({ type: 'clockBack' as const, ms })), weight: 1 },
  { arbitrary: fc.integer({ min: 2, max: 200 }).map((n) => ({ type: 'networkStorm' as const, n })), weight: 1 },
  { arbitrary: fc.integer({ min: 2, max: 200 }).map((n) => ({ type: 'wakeStorm' as const, n })), weight: 1 },
  {
    arbitrary: fc.constantFrom<ListenerKind>('subscribe', 'session$', 'token$').map((kind) => ({ type: 'throwingListener' as const, kind })),
    weight: 1,
  },
  { arbitrary: fc.constant({ type: 'stop' as const }), weight: 1 },
  // A reload: a new engine on the same storage (with none, it starts signed out); restore() and a refresh token alone.
  { arbitrary: fc.constant({ type: 'reload' as const }), weight: 1 },
  { arbitrary: fc.constant({ type: 'restore' as const }), weight: 1 },
  { arbitrary: fc.constant({ type: 'signInRefreshToken' as const }), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 60_000 }).map((ms) => ({ type: 'advance' as const, ms })), weight: 3 },
  { arbitrary: fc.constant({ type: 'settle' as const }), weight: 6 },
  // Other tabs of the origin: a newer token of this session, a replay of any token held before (older, or
  // of a session since ended or rotated away), a sign-out, a rotation, a sign-in of a new session there.
  { arbitrary: token.map((t) => ({ type: 'tabToken' as const, ...t })), weight: 1 },
  { arbitrary: fc.nat().map((pick) => ({ type: 'tabReplay' as const, pick })), weight: 2 },
  { arbitrary: fc.constant({ type: 'tabSignOut' as const }), weight: 1 },
  { arbitrary: fc.constant({ type: 'tabRotate' as const }), weight: 1 },
  { arbitrary: token.map((t) => ({ type: 'tabNewSession' as const, ...t })), weight: 1 },
);

type Command = typeof command extends fc.Arbitrary<infer T> ? T : never;

/** A Map-backed storage, synchronous as localStorage is. */
function mapStorage() {
  const items = new Map<string, string>();
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}

const describeCommand = (c: Command) => {
  const { type, ...args } = c;
  return Object.keys(args).length ? `${type}(${JSON.stringify(args)})` : type;
};

let keys = 0;
const sessionKeyFor = (choice: Pick<TokenChoice, 'session' | 'opaque'>, current: string | null | undefined) =>
  choice.session === 'same' && current
    ? current
    : choice.opaque && choice.session === 'same'
      ? null
      : `p${(keys += 1)}`;

function answerOf(choice: Outcome, call: RefreshCall, harness: InvariantHarness): RefreshAnswer {
  switch (choice.kind) {
    case 'token': {
      // An opaque answer of the same session names none: the engine keeps the session it asked for.
      const sessionKey =
        choice.session === 'same' && choice.opaque ? null : sessionKeyFor(choice, call.ctx.session?.sessionKey);
      return { kind: 'token', ...harness.mint({ ...choice, sessionKey }) };
    }
    case 'garbage': {
      const values = {
        notAnObject: 'a string',
        noExpiry: { accessToken: 'opaque-without-expiry' },
        emptyToken: { accessToken: '' },
        badJwt: { accessToken: 'eyJ.eyJ.x' },
        // A malformed access token beside a rotated refresh token: the refresh token still replaces the one sent.
        badJwtNewRefreshToken: { accessToken: 'eyJ.eyJ.x', refreshToken: `rt-garbage-${(keys += 1)}` },
      };
      return { kind: 'garbage', value: values[choice.v as keyof typeof values] };
    }
    case 'network':
      return { kind: 'error', error: new NetworkError(undefined, { retryAfterMs: choice.retryAfterMs }), auth: false };
    case 'hang':
      throw new Error('a hung request is never answered');
    case 'thrown':
      return { kind: 'error', error: new TypeError('fetch failed'), auth: false };
    case 'auth':
      return { kind: 'error', error: new AuthError(), auth: true };
  }
}

const SESSION_BOUNDARIES = new Set([
  'signIn',
  'signOut',
  'rotate',
  'tabSignOut',
  'tabRotate',
  'tabNewSession',
  'signInRefreshToken',
  'reload',
]);

type HeldMessage = { token: SessionToken; session: SessionInfo };

/** Another tab's token message: the token as that tab would hold it (just refreshed), registered as issued now. */
function tabMessage(harness: InvariantHarness, choice: TokenChoice, session: SessionInfo): HeldMessage {
  const { set, lifeMs } = harness.mint({ ...choice, sessionKey: session.sessionKey });
  harness.register(set.accessToken, { expiresAt: harness.realNow() + lifeMs, sessionKey: session.sessionKey });
  const held = parseRefreshAnswer(set, { at: harness.engineNow(), fromWall: (t) => t, keyClaims: DEFAULT_SESSION_KEY_CLAIMS });
  return { token: { ...held, sessionKey: session.sessionKey }, session };
}

/** Returns false when the engine is gone (stopped) and the run is over. */
async function perform(
  c: Command,
  harness: InvariantHarness,
  scheduler: fc.Scheduler,
  history: HeldMessage[],
  watch: () => void,
  keepsSession: boolean,
): Promise<boolean | void> {
  const { engine } = harness;
  // Tabs order sessions and tokens by their shared clock, to the millisecond: a session boundary (sign-in,
  // sign-out, rotation) and the tokens before it are never in the same millisecond in a browser.
  if (SESSION_BOUNDARIES.has(c.type)) harness.sleep(1);
  // Messages of other tabs carry times on this engine's clock, as the tab layer turns them.
  const now = harness.engineNow();
  const session = engine.actor.getSnapshot().context.session;
  switch (c.type) {
    case 'tabToken':
      // Another tab's message is a copy, never the very object this engine holds; in `rotated` it is the new
      // session's first token (the rotation's identity change).
      if (engine.actor.getSnapshot().matches('rotated')) harness.allow({ identity: true });
      if (session) engine.actor.send({ type: 'tab.token', ...tabMessage(harness, c, { ...session }), now });
      return;
    case 'tabReplay': {
      const past = history[c.pick % Math.max(history.length, 1)];
      if (engine.actor.getSnapshot().matches('rotated')) harness.allow({ identity: true });
      if (past) engine.actor.send({ type: 'tab.token', token: past.token, session: { ...past.session }, now });
      return;
    }
    case 'tabSignOut':
      if (!session) return;
      harness.allow({ signOut: true });
      harness.kill();
      return engine.actor.send({ type: 'tab.signOut', sessionKey: session.sessionKey, at: now });
    case 'tabRotate':
      if (!session) return;
      harness.kill();
      return engine.actor.send({ type: 'tab.rotate', sessionKey: session.sessionKey, at: now });
    case 'tabNewSession': {
      harness.allow({ identity: true });
      harness.kill();
      // Started after this tab's session (or sign-out): tabs share one clock, so a later start is a newer session.
      // Within the same millisecond the engine cannot tell, so the clock moves on by one.
      const { endedAt } = engine.actor.getSnapshot().context;
      const latest = Math.max(session?.startedAt ?? 0, endedAt ?? 0);
      if (now <= latest) harness.sleep(latest + 1 - now);
      const startedAt = harness.engineNow();
      const started: SessionInfo = { sessionKey: `tab${(keys += 1)}`, userId: 'user-1', startedAt };
      return engine.actor.send({ type: 'tab.token', ...tabMessage(harness, c, started), now: startedAt });
    }
    case 'getToken':
      return void harness.getToken();
    case 'forceRefresh':
      return void harness.getToken(true);
    case 'peek':
      return void engine.peekToken();
    case 'read':
      return harness.checkSnapshot();
    case 'signIn':
      harness.allow({ identity: true });
      return void harness.signIn({
        ...c,
        sessionKey: sessionKeyFor(c, engine.actor.getSnapshot().context.session?.sessionKey),
      });
    case 'signInGarbage': {
      const before = engine.actor.getSnapshot();
      try {
        engine.signIn({ accessToken: 'not-a-jwt' });
        harness.violations.push('signIn accepted a token with no expiry');
      } catch (error) {
        if ((error as { code?: string }).code !== 'invalid_token')
          harness.violations.push(`signIn threw ${String(error)}`);
      }
      if (engine.actor.getSnapshot() !== before) harness.violations.push('a refused signIn changed the state');
      return;
    }
    case 'signOut':
      harness.allow({ signOut: true });
      return harness.signOut();
    case 'rotate':
      return harness.rotate();
    case 'network':
      return harness.online$.next(c.up);
    case 'resume':
      return harness.resume$.next();
    case 'sleep':
      return harness.sleep(c.ms);
    case 'clockBack':
      // A clock set back while a session sits in storage cannot be seen by the engine that reads it back (the
      // wall-clock times it stored moved with the clock): runs with a storage keep the clock as it is.
      if (keepsSession) return;
      return harness.setClockBack(c.ms);
    case 'networkStorm':
    case 'wakeStorm': {
      // However many signals arrive at once, at most one attempt starts (one per backoff step).
      const before = harness.calls.length;
      for (let i = 0; i < c.n; i += 1) {
        if (c.type === 'wakeStorm') harness.resume$.next();
        else harness.online$.next(!harness.online$.value);
      }
      const started = harness.calls.length - before;
      if (started > 1) harness.violations.push(`${describeCommand(c)} started ${started} requests`);
      return;
    }
    case 'throwingListener':
      return listenerThatThrows(engine, c.kind);
    case 'reload':
      harness.allow({ identity: true });
      harness.reload();
      // A new page hears no late message sent to the old one.
      history.length = 0;
      return watch();
    case 'restore':
      harness.allow({ identity: true });
      return void harness.getToken(false, true);
    case 'signInRefreshToken':
      harness.allow({ identity: true });
      return harness.signInRefreshToken();
    case 'stop':
      harness.stop();
      harness.violations.push(...(await afterStop(engine, harness.calls.length, () => harness.calls.length)));
      return false;
    case 'advance':
      await harness.advance(c.ms);
      return;
    case 'settle':
      if (scheduler.count() > 0) await scheduler.waitOne();
      return;
  }
}

describe('the engine under random commands and refresh answers in random order', () => {
  it(`keeps the eight invariants (${RUNS} runs)`, { timeout: RUNS * 200 }, async () => {
    const seen = { commands: 0, refreshes: 0, aborted: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        token,
        fc.array(command, { minLength: 10, maxLength: 120, size: 'max' }),
        fc.array(outcome, { minLength: 1, maxLength: 12, size: 'max' }),
        // Callers that keep to the backoff (the default) or cut it short (v0.1).
        fc.boolean(),
        // A storage that keeps the session between starts, or none.
        fc.boolean(),
        async (scheduler, first, commands, outcomes, callersCutBackoff, keepsSession) => {
          vi.useFakeTimers({ toFake: [...FAKED] });
          vi.setSystemTime(T0);
          let answered = 0;
          const listenerErrors: unknown[] = [];
          const harness: InvariantHarness = new InvariantHarness({
            // One token server, one clock: its skew is the first token's, for every token of the run.
            serverSkewMs: first.skewMs,
            engine: {
              retry: { callersCutBackoff },
              onError: (error) => listenerErrors.push(error),
              ...(keepsSession ? { storage: mapStorage() } : {}),
            },
            answer: (call): Promise<TokenSet> => {
              const choice = outcomes[answered++ % outcomes.length]!;
              if (choice.kind === 'hang') return new Promise<never>(() => {});
              const label = `refresh #${answered} (${call.ctx.reason}) -> ${choice.kind}`;
              return scheduler
                .schedule(Promise.resolve(label), label)
                .then(() => harness.release(call, answerOf(choice, call, harness)));
            },
          });
          // Every token the engine held, with its session: what a late or replayed tab message could carry.
          const history: HeldMessage[] = [];
          const watch = () =>
            void harness.engine.actor.subscribe(({ context: { token, session } }) => {
              if (token && session && token !== history.at(-1)?.token) {
                history.push({ token: { ...token, sessionKey: session.sessionKey }, session });
              }
            });
          watch();
          // An engine that keeps its session reads its storage as it starts.
          await flushMicrotasks();
          try {
            for (const c of [{ type: 'signIn' as const, ...first }, ...commands]) {
              harness.begin(describeCommand(c));
              const goesOn = await perform(c, harness, scheduler, history, watch, keepsSession);
              if (goesOn === false) break;
              await flushMicrotasks();
              harness.checkSettledWithoutWaiting();
              harness.end();
              if (harness.violations.length > 0) break;
            }
            // Only the listeners this run made throw reach onError, and nothing else does.
            for (const error of listenerErrors) {
              if (!(error instanceof Error && error.message === 'a listener that throws')) {
                harness.violations.push(`onError got ${String(error)}`);
              }
            }
          } finally {
            seen.commands += commands.length + 1;
            seen.refreshes += harness.calls.length;
            seen.aborted += harness.calls.filter((call) => call.ctx.signal.aborted).length;
            harness.stop();
            vi.useRealTimers();
          }
          if (harness.violations.length > 0) throw new Error(harness.violations.join('\n'));
        },
      ),
      { numRuns: RUNS },
    );
    console.log(
      `property: ${RUNS} runs, ${seen.commands} commands, ${seen.refreshes} refresh requests ` +
        `(${seen.aborted} aborted, their answers released late), 0 violations`,
    );
  });
});
