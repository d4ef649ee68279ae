import { BehaviorSubject, Subject } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assign, createActor, setup, type AnyActorLogic } from 'xstate';
import { createTokenFetcher, newSessionKey, runtimeActors } from '../../src/engine/actors.js';
import { DEFAULT_SESSION_KEY_CLAIMS } from '../../src/engine/claims.js';
import { AuthError, NetworkError } from '../../src/errors.js';
import type { RefreshContext, TokenSet } from '../../src/types.js';
import type { RefreshInput, SessionEvent } from '../../machines/types.js';
import { signJwt } from '../support/tokens.js';

/** The runtime behind the machine's named effects: the refresh call, the timers, the network and wake events. */

const T0 = Date.UTC(2025, 0, 1);
const S = T0 / 1000;
const retry = { baseMs: 1_000, maxMs: 30_000, factor: 2, jitter: true };

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  vi.setSystemTime(T0);
});
afterEach(() => vi.useRealTimers());

const input = (overrides: Partial<RefreshInput> = {}): RefreshInput => ({
  session: { sessionKey: 's1', userId: 'u1', startedAt: T0 },
  refreshToken: 'r1',
  reason: 'expired',
  satisfiedAfter: 0,
  ...overrides,
});

describe('createTokenFetcher', () => {
  const fetcher = (answer: (ctx: RefreshContext) => Promise<TokenSet>) =>
    createTokenFetcher(answer, DEFAULT_SESSION_KEY_CLAIMS);

  it("calls refresh with the session, its refresh token, the reason and the machine's signal", async () => {
    const calls: RefreshContext[] = [];
    const signal = new AbortController().signal;
    await fetcher(async (ctx) => {
      calls.push(ctx);
      return { accessToken: 'opaque', expiresIn: 60 };
    })(input({ reason: 'forced' }), signal);
    expect(calls).toEqual([{ session: input().session, refreshToken: 'r1', reason: 'forced', signal }]);
  });

  it('parses the answer as received now', async () => {
    vi.setSystemTime(T0 + 7_000);
    const token = await fetcher(async () => ({ accessToken: signJwt({ sid: 's1', iat: S, exp: S + 60 }) }))(
      input(),
      new AbortController().signal,
    );
    expect(token).toMatchObject({ issuedAt: T0 + 7_000, expiresAt: T0 + 67_000, serverOffsetMs: -7_000, sessionKey: 's1' });
  });

  it('types what refresh throws: auth stays auth, anything else is a network fault', async () => {
    const signal = new AbortController().signal;
    const auth = new AuthError();
    await expect(fetcher(() => Promise.reject(auth))(input(), signal)).rejects.toBe(auth);
    await expect(fetcher(() => Promise.reject(new TypeError('fetch failed')))(input(), signal)).rejects.toBeInstanceOf(
      NetworkError,
    );
  });

  it("gives an opaque token of a rotated session an identity of its own, and keeps other tokens' keys", async () => {
    const signal = new AbortController().signal;
    const opaque = fetcher(async () => ({ accessToken: 'opaque', expiresIn: 60 }));
    expect((await opaque(input({ reason: 'rotated' }), signal)).sessionKey).toMatch(/^session-[0-9a-f-]{36}$/);
    expect((await opaque(input({ reason: 'expired' }), signal)).sessionKey).toBeNull();
    const named = fetcher(async () => ({ accessToken: 'opaque', expiresIn: 60, sessionKey: 'given' }));
    expect((await named(input({ reason: 'rotated' }), signal)).sessionKey).toBe('given');
  });

  it('new session keys are unique', () => {
    expect(newSessionKey()).not.toBe(newSessionKey());
  });
});

/** Invokes one runtime actor under a parent that records every event it sends back (not XState's own). */
function invoke(logic: AnyActorLogic, actorInput?: unknown) {
  const parent = setup({
    types: { context: {} as { events: SessionEvent[] }, events: {} as SessionEvent },
    actors: { child: logic },
  }).createMachine({
    context: { events: [] },
    invoke: { src: 'child', input: actorInput },
    on: { '*': { actions: assign({ events: ({ context, event }) => [...context.events, event] }) } },
  });
  const actor = createActor(parent).start();
  return {
    events: () => actor.getSnapshot().context.events.filter((event) => !event.type.startsWith('xstate.')),
    stop: () => actor.stop(),
  };
}

describe('runtimeActors', () => {
  const actors = (overrides: { online$?: Subject<boolean>; resume$?: Subject<unknown>; random?: () => number } = {}) =>
    runtimeActors({
      fetchToken: async () => {
        throw new Error('unused');
      },
      online$: overrides.online$ ?? new BehaviorSubject(true),
      resume$: overrides.resume$ ?? new Subject(),
      ...(overrides.random ? { random: overrides.random } : {}),
    });

  it('waitForRefresh sends timer.refreshDue with the time once the refresh is due', () => {
    const run = invoke(actors().waitForRefresh, { at: T0 + 30_000 });
    vi.advanceTimersByTime(29_999);
    expect(run.events()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(run.events()).toEqual([{ type: 'timer.refreshDue', now: T0 + 30_000 }]);
    run.stop();
  });

  it('waitForRetry waits the jittered backoff of the attempt', () => {
    const run = invoke(actors({ random: () => 0.5 }).waitForRetry, { attempt: 3, retry, retryAfterMs: undefined });
    vi.advanceTimersByTime(2_999);
    expect(run.events()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(run.events()).toEqual([{ type: 'timer.retryDue', now: T0 + 3_000 }]);
    run.stop();
  });

  it("waitForRetry honours the server's Retry-After", () => {
    const run = invoke(actors({ random: () => 0 }).waitForRetry, { attempt: 1, retry, retryAfterMs: 9_000 });
    vi.advanceTimersByTime(8_999);
    expect(run.events()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(run.events()).toHaveLength(1);
    run.stop();
  });

  it('waitForRetry jitters with Math.random by default', () => {
    const random = vi.spyOn(Math, 'random').mockReturnValue(1);
    const run = invoke(actors().waitForRetry, { attempt: 1, retry, retryAfterMs: undefined });
    vi.advanceTimersByTime(999);
    expect(run.events()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(run.events()).toHaveLength(1);
    expect(random).toHaveBeenCalled();
    run.stop();
    random.mockRestore();
  });

  it('watchNetwork sends env.online with the time and env.offline, dropping repeats', () => {
    const online$ = new Subject<boolean>();
    const run = invoke(actors({ online$ }).watchNetwork);
    online$.next(true);
    vi.setSystemTime(T0 + 1_000);
    online$.next(true);
    online$.next(false);
    online$.next(false);
    vi.setSystemTime(T0 + 2_000);
    online$.next(true);
    expect(run.events()).toEqual([
      { type: 'env.online', now: T0 },
      { type: 'env.offline' },
      { type: 'env.online', now: T0 + 2_000 },
    ]);
    run.stop();
  });

  it('watchResume sends env.wake with the time of each resume', () => {
    const resume$ = new Subject<unknown>();
    const run = invoke(actors({ resume$ }).watchResume);
    resume$.next('visible');
    vi.setSystemTime(T0 + 5_000);
    resume$.next('focus');
    expect(run.events()).toEqual([
      { type: 'env.wake', now: T0 },
      { type: 'env.wake', now: T0 + 5_000 },
    ]);
    run.stop();
  });
});
