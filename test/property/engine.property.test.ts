import fc from 'fast-check';
import { describe, it, vi } from 'vitest';
import { AuthError, NetworkError } from '../../src/errors.js';
import { isFresh } from '../../machines/tokenMath.js';
import { resolveConfig } from '../../src/engine/engine.js';
import type { TokenSet } from '../../src/types.js';
import { DEFAULT_SESSION_KEY_CLAIMS, parseTokenSet } from '../../src/engine/claims.js';
import type { SessionInfo, SessionToken } from '../../machines/types.js';
import {
  InvariantHarness,
  flushMicrotasks,
  tokenSetFor,
  type RefreshAnswer,
  type RefreshCall,
} from '../support/invariantHarness.js';

/**
 * Random command sequences on a real engine, with the refresh answers released in an order fast-check's
 * scheduler picks (late answers of aborted requests included), checking the contract's six invariants
 * after every command. 1,000 runs; SESSIONCHART_PROPERTY_RUNS=<n> runs n (mutation testing uses a few), set to
 * anything else 10,000.
 */

const RUNS_SET = process.env.SESSIONCHART_PROPERTY_RUNS;
const RUNS = RUNS_SET ? Number.parseInt(RUNS_SET, 10) || 10_000 : 1_000;
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const FAKED = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] as const;
const config = resolveConfig({ refresh: () => Promise.reject(new Error('unused')) });

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
      .constantFrom('notAnObject', 'noExpiry', 'emptyToken', 'badJwt')
      .map((v) => ({ kind: 'garbage' as const, v })),
    weight: 1,
  },
  {
    arbitrary: fc
      .option(fc.integer({ min: 1, max: 90_000 }), { nil: undefined })
      .map((retryAfterMs) => ({ kind: 'network' as const, retryAfterMs })),
    weight: 2,
  },
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
const sessionKeyFor = (choice: Pick<TokenChoice, 'session' | 'opaque'>, current: string | null | undefined) =>
  choice.session === 'same' && current
    ? current
    : choice.opaque && choice.session === 'same'
      ? null
      : `p${(keys += 1)}`;

function answerOf(choice: Outcome, call: RefreshCall): RefreshAnswer {
  switch (choice.kind) {
    case 'token': {
      // An opaque answer of the same session names none: the engine keeps the session it asked for.
      const sessionKey =
        choice.session === 'same' && choice.opaque ? null : sessionKeyFor(choice, call.ctx.session?.sessionKey);
      return { kind: 'token', ...tokenSetFor({ ...choice, sessionKey }) };
    }
    case 'garbage': {
      const values = {
        notAnObject: 'a string',
        noExpiry: { accessToken: 'opaque-without-expiry' },
        emptyToken: { accessToken: '' },
        badJwt: { accessToken: 'eyJ.eyJ.x' },
      };
      return { kind: 'garbage', value: values[choice.v as keyof typeof values] };
    }
    case 'network':
      return { kind: 'error', error: new NetworkError(undefined, { retryAfterMs: choice.retryAfterMs }), auth: false };
    case 'thrown':
      return { kind: 'error', error: new TypeError('fetch failed'), auth: false };
    case 'auth':
      return { kind: 'error', error: new AuthError(), auth: true };
  }
}

const SESSION_BOUNDARIES = new Set(['signIn', 'signOut', 'rotate', 'tabSignOut', 'tabRotate', 'tabNewSession']);

type HeldMessage = { token: SessionToken; session: SessionInfo };

/** Another tab's token message: the token as that tab would hold it, registered as issued now. */
function tabMessage(harness: InvariantHarness, choice: TokenChoice, session: SessionInfo): HeldMessage {
  const { set, lifeMs } = tokenSetFor({ ...choice, sessionKey: session.sessionKey });
  harness.register(set.accessToken, { expiresAt: Date.now() + lifeMs, sessionKey: session.sessionKey });
  const held = parseTokenSet(set, Date.now(), DEFAULT_SESSION_KEY_CLAIMS);
  return { token: { ...held, sessionKey: session.sessionKey }, session };
}

async function perform(
  c: Command,
  harness: InvariantHarness,
  scheduler: fc.Scheduler,
  history: HeldMessage[],
): Promise<void> {
  const { engine } = harness;
  // Tabs order sessions and tokens by their shared clock, to the millisecond: a session boundary (sign-in,
  // sign-out, rotation) and the tokens before it are never in the same millisecond in a browser.
  if (SESSION_BOUNDARIES.has(c.type)) vi.setSystemTime(Date.now() + 1);
  const session = engine.actor.getSnapshot().context.session;
  switch (c.type) {
    case 'tabToken':
      if (session) engine.actor.send({ type: 'tab.token', ...tabMessage(harness, c, session), now: Date.now() });
      return;
    case 'tabReplay': {
      const past = history[c.pick % Math.max(history.length, 1)];
      if (past) engine.actor.send({ type: 'tab.token', ...past, now: Date.now() });
      return;
    }
    case 'tabSignOut':
      if (!session) return;
      harness.allow({ signOut: true });
      harness.kill();
      return engine.actor.send({ type: 'tab.signOut', sessionKey: session.sessionKey, at: Date.now() });
    case 'tabRotate':
      if (!session) return;
      harness.kill();
      return engine.actor.send({ type: 'tab.rotate', sessionKey: session.sessionKey, at: Date.now() });
    case 'tabNewSession': {
      harness.allow({ identity: true });
      harness.kill();
      // Started after this tab's session (or sign-out): tabs share one clock, so a later start is a newer session.
      // Within the same millisecond the engine cannot tell, so the clock moves on by one.
      const { endedAt } = engine.actor.getSnapshot().context;
      const latest = Math.max(session?.startedAt ?? 0, endedAt ?? 0);
      if (Date.now() <= latest) vi.setSystemTime(latest + 1);
      const started: SessionInfo = { sessionKey: `tab${(keys += 1)}`, userId: 'user-1', startedAt: Date.now() };
      return engine.actor.send({ type: 'tab.token', ...tabMessage(harness, c, started), now: Date.now() });
    }
    case 'getToken':
      return void harness.getToken();
    case 'forceRefresh':
      return void harness.getToken(true);
    case 'peek':
      return void engine.peekToken();
    case 'read': {
      const snapshot = engine.getSnapshot();
      const held = engine.actor.getSnapshot().context.token;
      if (snapshot.status === 'fresh' && !isFresh(held, Date.now(), config)) {
        harness.violations.push(
          `getSnapshot() says fresh for a token the clock says is not [during ${describeCommand(c)}]`,
        );
      }
      return;
    }
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
      vi.setSystemTime(Date.now() + c.ms);
      return;
    case 'advance':
      await vi.advanceTimersByTimeAsync(c.ms);
      return;
    case 'settle':
      if (scheduler.count() > 0) await scheduler.waitOne();
      return;
  }
}

describe('the engine under random commands and refresh answers in random order', () => {
  it(`keeps the six invariants (${RUNS} runs)`, { timeout: RUNS * 200 }, async () => {
    const seen = { commands: 0, refreshes: 0, aborted: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        token,
        fc.array(command, { minLength: 10, maxLength: 120, size: 'max' }),
        fc.array(outcome, { minLength: 1, maxLength: 12, size: 'max' }),
        // The contract's callers that cut a backoff short, and the opt-out where they are told at once.
        fc.boolean(),
        async (scheduler, first, commands, outcomes, callersCutBackoff) => {
          vi.useFakeTimers({ toFake: [...FAKED] });
          vi.setSystemTime(T0);
          let answered = 0;
          const harness: InvariantHarness = new InvariantHarness({
            engine: { retry: { callersCutBackoff } },
            answer: (call): Promise<TokenSet> => {
              const choice = outcomes[answered++ % outcomes.length]!;
              const label = `refresh #${answered} (${call.ctx.reason}) -> ${choice.kind}`;
              return scheduler
                .schedule(Promise.resolve(label), label)
                .then(() => harness.release(call, answerOf(choice, call)));
            },
          });
          // Every token the engine held, with its session: what a late or replayed tab message could carry.
          const history: HeldMessage[] = [];
          harness.engine.actor.subscribe(({ context: { token, session } }) => {
            if (token && session && token !== history.at(-1)?.token) {
              history.push({ token: { ...token, sessionKey: session.sessionKey }, session });
            }
          });
          try {
            for (const c of [{ type: 'signIn' as const, ...first }, ...commands]) {
              harness.begin(describeCommand(c));
              await perform(c, harness, scheduler, history);
              await flushMicrotasks();
              harness.checkSettledWithoutWaiting();
              harness.end();
              if (harness.violations.length > 0) break;
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
