import fc from 'fast-check';
import { describe, it, vi } from 'vitest';
import { AuthError, NetworkError } from '../../src/errors.js';
import { DEFAULT_SESSION_KEY_CLAIMS, parseRefreshAnswer } from '../../src/engine/claims.js';
import type { SessionInfo, SessionToken } from '../../machines/types.js';
import { T0, createMemoryStorage, flushPromises, type TokenRequest } from '../../src/testing/index.js';
import { EngineWorld } from '../support/invariantHarness.js';
import { afterStop, listenerThatThrows, type ListenerKind } from '../support/engineUse.js';

/**
 * Random command sequences on a real engine refreshing against sessionchart/testing's token server, with the
 * refresh answers released in an order fast-check's scheduler picks (late answers of aborted requests included,
 * some never answered), and its invariant checker judging the contract's eight invariants after every command. The commands include network drops and rotations during a request,
 * hung requests, sane and senseless Retry-After values, clock jumps both ways, storms of online and wake
 * signals, listeners that throw, and use after stop. 1,000 runs; SESSIONCHART_PROPERTY_RUNS=<n> runs n (mutation testing uses a few), set to
 * anything else 10,000.
 */

const RUNS_SET = process.env.SESSIONCHART_PROPERTY_RUNS;
const RUNS = RUNS_SET ? Number.parseInt(RUNS_SET, 10) || 10_000 : 1_000;
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

const describeCommand = (c: Command) => {
  const { type, ...args } = c;
  return Object.keys(args).length ? `${type}(${JSON.stringify(args)})` : type;
};

let keys = 0;
/** The session key a token of `choice` names: the one held for `same` (none for an opaque one, which keeps it), else a new one. */
const sidFor = (choice: Pick<TokenChoice, 'session' | 'opaque'>, current: string | null | undefined) =>
  choice.session === 'same' && current ? current : choice.opaque && choice.session === 'same' ? null : `p${(keys += 1)}`;

const GARBAGE = {
  notAnObject: 'a string',
  noExpiry: { accessToken: 'opaque-without-expiry' },
  emptyToken: { accessToken: '' },
  badJwt: { accessToken: 'eyJ.eyJ.x' },
};

/** Answers a request the server held as `choice` says. */
function answer(choice: Exclude<Outcome, { kind: 'hang' }>, request: TokenRequest, world: EngineWorld): void {
  switch (choice.kind) {
    case 'token': {
      // An answer of the same session comes in the request's session; an opaque one names none.
      const sid = choice.session === 'same' ? (choice.opaque ? undefined : request.ctx?.session?.sessionKey) : sidFor(choice, null);
      return world.respond(request, { lifeSeconds: choice.lifeS, opaque: choice.opaque, ...(sid ? { sid } : {}) });
    }
    case 'garbage':
      // A malformed access token beside a rotated refresh token: the refresh token still replaces the one sent.
      if (choice.v === 'badJwtNewRefreshToken') return request.resolve({ accessToken: 'eyJ.eyJ.x', refreshToken: `rt-garbage-${(keys += 1)}` });
      return request.resolve(GARBAGE[choice.v as keyof typeof GARBAGE]);
    case 'network':
      return request.fail(new NetworkError(undefined, { retryAfterMs: choice.retryAfterMs }));
    case 'thrown':
      return request.fail(new TypeError('fetch failed'));
    case 'auth':
      return request.fail(new AuthError());
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

/** Another tab's token message: the token as that tab would hold it (just refreshed), minted by the server now. */
function tabMessage(world: EngineWorld, choice: TokenChoice, session: SessionInfo): HeldMessage {
  const set = world.signIn({ sid: session.sessionKey, lifeSeconds: choice.lifeS, opaque: choice.opaque });
  const held = parseRefreshAnswer(set, { at: world.engineNow(), fromWall: (t) => t, keyClaims: DEFAULT_SESSION_KEY_CLAIMS });
  return { token: { ...held, sessionKey: session.sessionKey }, session };
}

/** Returns false when the engine is gone (stopped) and the run is over. */
async function perform(
  c: Command,
  world: EngineWorld,
  scheduler: fc.Scheduler,
  history: HeldMessage[],
  watch: () => void,
  keepsSession: boolean,
): Promise<boolean | void> {
  const { engine, checker } = world;
  // Tabs order sessions and tokens by their shared clock, to the millisecond: a session boundary (sign-in,
  // sign-out, rotation) and the tokens before it are never in the same millisecond in a browser.
  if (SESSION_BOUNDARIES.has(c.type)) world.sleep(1);
  // Messages of other tabs carry times on this engine's clock, as the tab layer turns them.
  const now = world.engineNow();
  const session = engine.actor.getSnapshot().context.session;
  switch (c.type) {
    case 'tabToken':
      // Another tab's message is a copy, never the very object this engine holds; in `rotated` it is the new
      // session's first token (the rotation's identity change).
      if (engine.actor.getSnapshot().matches('rotated')) checker.sessionEndedElsewhere('rotate');
      if (session) engine.actor.send({ type: 'tab.token', ...tabMessage(world, c, { ...session }), now });
      return;
    case 'tabReplay': {
      const past = history[c.pick % Math.max(history.length, 1)];
      if (engine.actor.getSnapshot().matches('rotated')) checker.sessionEndedElsewhere('rotate');
      if (past) engine.actor.send({ type: 'tab.token', token: past.token, session: { ...past.session }, now });
      return;
    }
    case 'tabSignOut':
      if (!session) return;
      checker.sessionEndedElsewhere('signOut');
      return engine.actor.send({ type: 'tab.signOut', sessionKey: session.sessionKey, at: now });
    case 'tabRotate':
      if (!session) return;
      checker.sessionEndedElsewhere('rotate');
      return engine.actor.send({ type: 'tab.rotate', sessionKey: session.sessionKey, at: now });
    case 'tabNewSession': {
      // Started after this tab's session (or sign-out): tabs share one clock, so a later start is a newer session.
      // Within the same millisecond the engine cannot tell, so the clock moves on by one.
      const { endedAt } = engine.actor.getSnapshot().context;
      const latest = Math.max(session?.startedAt ?? 0, endedAt ?? 0);
      if (now <= latest) world.sleep(latest + 1 - now);
      const startedAt = world.engineNow();
      const started: SessionInfo = { sessionKey: `tab${(keys += 1)}`, userId: 'user-1', startedAt };
      // The other tab's sign-in replaced the session held here.
      checker.sessionEndedElsewhere('rotate');
      checker.sessionStartedElsewhere(started.sessionKey);
      return engine.actor.send({ type: 'tab.token', ...tabMessage(world, c, started), now: startedAt });
    }
    case 'getToken':
      return world.getToken();
    case 'forceRefresh':
      return world.getToken(true);
    case 'peek':
      return void engine.peekToken();
    case 'read':
      return world.checkSnapshot();
    case 'signIn': {
      const sid = sidFor(c, session?.sessionKey);
      return void engine.signIn(world.signIn({ lifeSeconds: c.lifeS, opaque: c.opaque, sid }));
    }
    case 'signInGarbage': {
      const before = engine.actor.getSnapshot();
      try {
        engine.signIn({ accessToken: 'not-a-jwt' });
        world.problems.push('signIn accepted a token with no expiry');
      } catch (error) {
        if ((error as { code?: string }).code !== 'invalid_token') world.problems.push(`signIn threw ${String(error)}`);
      }
      if (engine.actor.getSnapshot() !== before) world.problems.push('a refused signIn changed the state');
      return;
    }
    case 'signOut':
      return engine.signOut();
    case 'rotate':
      return engine.rotate();
    case 'network':
      return world.online$.next(c.up);
    case 'resume':
      return world.resume$.next();
    case 'sleep':
      return world.sleep(c.ms);
    case 'clockBack':
      // A clock set back while a session sits in storage cannot be seen by the engine that reads it back (the
      // wall-clock times it stored moved with the clock): runs with a storage keep the clock as it is.
      if (keepsSession) return;
      return world.setClockBack(c.ms);
    case 'networkStorm':
    case 'wakeStorm': {
      // However many signals arrive at once, at most one attempt starts (one per backoff step).
      const before = world.server.counters.requests;
      for (let i = 0; i < c.n; i += 1) {
        if (c.type === 'wakeStorm') world.resume$.next();
        else world.online$.next(!world.online$.value);
      }
      const started = world.server.counters.requests - before;
      if (started > 1) world.problems.push(`${describeCommand(c)} started ${started} requests`);
      return;
    }
    case 'throwingListener':
      return listenerThatThrows(engine, c.kind);
    case 'reload':
      world.reload();
      // A new page hears no late message sent to the old one.
      history.length = 0;
      return watch();
    case 'restore':
      return world.getToken(false, true);
    case 'signInRefreshToken':
      // A new session's refresh token alone: the engine restores the session from it.
      return engine.signIn({ refreshToken: world.signIn({}).refreshToken! });
    case 'stop': {
      const requests = () => world.server.counters.requests;
      world.stop();
      world.problems.push(...(await afterStop(engine, requests(), requests)));
      return false;
    }
    case 'advance':
      await world.advance(c.ms);
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
          const listenerErrors: unknown[] = [];
          const world = new EngineWorld({
            // One token server, one clock: its skew is the first token's, for every token of the run.
            serverSkewMs: first.skewMs,
            engine: {
              retry: { callersCutBackoff },
              onError: (error) => listenerErrors.push(error),
              ...(keepsSession ? { storage: createMemoryStorage() } : {}),
            },
          });
          let answered = 0;
          world.server.subscribe((event) => {
            if (event.type !== 'request') return;
            const choice = outcomes[answered++ % outcomes.length]!;
            // A request that never answers: only refreshTimeoutMs ends it.
            if (choice.kind === 'hang') return;
            const label = `refresh #${answered} (${event.request.ctx?.reason}) -> ${choice.kind}`;
            void scheduler.schedule(Promise.resolve(label), label).then(() => answer(choice, event.request, world));
          });
          // Every token the engine held, with its session: what a late or replayed tab message could carry.
          const history: HeldMessage[] = [];
          const watch = () =>
            void world.engine.actor.subscribe(({ context: { token, session } }) => {
              if (token && session && token !== history.at(-1)?.token) {
                history.push({ token: { ...token, sessionKey: session.sessionKey }, session });
              }
            });
          watch();
          // An engine that keeps its session reads its storage as it starts.
          await flushPromises();
          let found: string[] = [];
          try {
            for (const c of [{ type: 'signIn' as const, ...first }, ...commands]) {
              const goesOn = await perform(c, world, scheduler, history, watch, keepsSession);
              if (goesOn !== false) await flushPromises();
              found = world.endStep().map((line) => `${line} [after ${describeCommand(c)}]`);
              if (goesOn === false) break;
              if (found.length > 0) break;
            }
            // Only the listeners this run made throw reach onError, and nothing else does.
            for (const error of listenerErrors) {
              if (!(error instanceof Error && error.message === 'a listener that throws')) found.push(`onError got ${String(error)}`);
            }
          } finally {
            seen.commands += commands.length + 1;
            seen.refreshes += world.server.counters.requests;
            seen.aborted += world.server.counters.aborted;
            world.stop();
            vi.useRealTimers();
          }
          if (found.length > 0) throw new Error(found.join('\n'));
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
