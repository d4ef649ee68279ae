import { BehaviorSubject, Observable, Subject } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { assign, createActor, sendTo, setup, type AnyActorLogic, type AnyActorRef } from 'xstate';
import { runtimeActors, type RuntimeActorOptions } from '../../src/engine/actors.js';
import { resolveConfig } from '../../src/engine/options.js';
import { createEngineClock } from '../../src/engine/clock.js';
import { AuthError, NetworkError } from '../../src/errors.js';
import type { HeldToken, RefreshAnswer, RefreshInput, RequestCommand, SessionEvent } from '../../machines/types.js';
import { T0, refreshInput, useEngineClock } from '../support/engineHarness.js';

/** The runtime behind the machine's named effects: the refresh call, the timers, the network and wake events. */

const retry = { baseMs: 1_000, maxMs: 30_000, factor: 2, jitter: true };

useEngineClock();

const actors = (overrides: Partial<RuntimeActorOptions> = {}) =>
  runtimeActors({
    refreshToken: () => Promise.reject(new Error('unused')),
    online$: new BehaviorSubject(true),
    resume$: new Subject(),
    clock: createEngineClock(),
    ...overrides,
  });

/**
 * Invokes one runtime actor under a parent that records every event it sends back (not XState's own), and
 * passes on the request commands a test sends it, as the session machine would.
 */
function invoke(logic: AnyActorLogic, actorInput?: unknown) {
  const parent = setup({
    types: { context: {} as { events: SessionEvent[] }, events: {} as SessionEvent | RequestCommand },
    actors: { child: logic },
  }).createMachine({
    context: { events: [] },
    invoke: { src: 'child', id: 'child', input: actorInput },
    on: {
      'request.send': { actions: sendTo('child', ({ event }) => event) },
      'request.abort': { actions: sendTo('child', ({ event }) => event) },
      '*': { actions: assign({ events: ({ context, event }) => [...context.events, event as SessionEvent] }) },
    },
  });
  const actor = createActor(parent).start();
  return {
    events: () => actor.getSnapshot().context.events.filter((event) => !event.type.startsWith('xstate.')),
    send: (command: RequestCommand) => actor.send(command),
    status: () => actor.getSnapshot().status,
    /** The child's own status: 'done' once its stream has ended. */
    childStatus: () => (actor.getSnapshot().children as Record<string, AnyActorRef | undefined>).child?.getSnapshot().status,
    stop: () => actor.stop(),
  };
}

describe('runtimeActors', () => {
  it('waitForRefresh waits from the time it was armed at to the time the refresh is due', () => {
    const run = invoke(actors().waitForRefresh, { at: T0 + 30_000, now: T0 + 10_000 });
    vi.advanceTimersByTime(19_999);
    expect(run.events()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(run.events()).toEqual([{ type: 'timer.refreshDue', now: T0 + 20_000 }]);
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

  it.each([
    ['errors', (online$: Subject<boolean>) => online$.error(new Error('the source failed'))],
    ['completes', (online$: Subject<boolean>) => online$.complete()],
  ])('watchNetwork ends as online when online$ %s, and its parent runs on', (_, end) => {
    const online$ = new Subject<boolean>();
    const run = invoke(actors({ online$ }).watchNetwork);
    online$.next(false);
    end(online$);
    expect(run.events()).toEqual([{ type: 'env.offline' }, { type: 'env.online', now: T0 }]);
    expect(run.status()).toBe('active');
    run.stop();
  });

  it('watchNetwork takes an online$ that throws on subscribe as always online', () => {
    const broken = new Observable<boolean>(() => {
      throw new Error('cannot subscribe');
    });
    const run = invoke(actors({ online$: broken }).watchNetwork);
    expect(run.events()).toEqual([{ type: 'env.online', now: T0 }]);
    expect(run.status()).toBe('active');
    run.stop();
  });

  it("watchNetwork takes an online$ of another library whose subscribe throws, after saying offline, as online from then on", () => {
    // Not RxJS's: its subscribe throws to the caller instead of erroring the subscriber.
    const foreign = {
      subscribe(observer: { next(up: boolean): void }) {
        observer.next(false);
        throw new Error('cannot subscribe');
      },
    } as unknown as Observable<boolean>;
    const run = invoke(actors({ online$: foreign }).watchNetwork);
    expect(run.events()).toEqual([{ type: 'env.offline' }, { type: 'env.online', now: T0 }]);
    expect(run.childStatus()).toBe('done');
    expect(run.status()).toBe('active');
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

  it.each([
    ['errors', (resume$: Subject<unknown>) => resume$.error(new Error('the source failed'))],
    ['completes', (resume$: Subject<unknown>) => resume$.complete()],
  ])('watchResume just ends when resume$ %s, and its parent runs on', (_, end) => {
    const resume$ = new Subject<unknown>();
    const run = invoke(actors({ resume$ }).watchResume);
    end(resume$);
    expect(run.events()).toEqual([]);
    // Nothing of it is left running: the child is done, as for a stream that cannot be subscribed to.
    expect(run.childStatus()).toBe('done');
    expect(run.status()).toBe('active');
    run.stop();
  });

  it('watchResume just ends when resume$ (of another library) throws on subscribe, and its parent runs on', () => {
    const foreign = {
      subscribe() {
        throw new Error('cannot subscribe');
      },
    } as unknown as Observable<unknown>;
    const run = invoke(actors({ resume$: foreign }).watchResume);
    expect(run.events()).toEqual([]);
    expect(run.childStatus()).toBe('done');
    expect(run.status()).toBe('active');
    run.stop();
  });
});

describe('the request child, as the runtime provides it', () => {
  const token: HeldToken = {
    accessToken: 'a2',
    expiresAt: T0 + 60_000,
    issuedAt: T0,
    serverOffsetMs: null,
    sessionKey: 's1',
    userId: null,
  };

  /** A request child whose `refreshToken` answers when the test says; the signals it was given are kept. */
  function requestChild() {
    const signals: AbortSignal[] = [];
    const pending: Array<{ resolve: (answer: RefreshAnswer) => void; reject: (error: unknown) => void }> = [];
    const refreshToken = (_: RefreshInput, signal: AbortSignal) => {
      signals.push(signal);
      return new Promise<RefreshAnswer>((resolve, reject) => pending.push({ resolve, reject }));
    };
    const run = invoke(actors({ refreshToken }).request, { config: resolveConfig({ refresh: () => Promise.reject(new Error('unused')) }) });
    run.send({ type: 'request.send', request: refreshInput(), now: T0 });
    return { run, signals, pending };
  }

  it('reports the answer with the request it was sent with and the time it arrived', async () => {
    const { run, pending } = requestChild();
    pending[0]!.resolve({ token, receivedAt: T0 + 3_000 });
    await vi.advanceTimersByTimeAsync(0);
    const { session } = refreshInput();
    expect(run.events()).toEqual([
      { type: 'request.done', token: { ...token, refreshToken: token.refreshToken ?? refreshInput().refreshToken }, session, request: refreshInput(), now: T0 + 3_000 },
    ]);
    run.stop();
  });

  it('reports a failure typed: an AuthError as it is, anything else as a network fault', async () => {
    const { run, pending } = requestChild();
    const refused = new AuthError();
    pending[0]!.reject(refused);
    await vi.advanceTimersByTimeAsync(0);
    run.send({ type: 'request.send', request: refreshInput({ reason: 'retry' }), now: T0 + 1_000 });
    pending[1]!.reject(new Error('socket hang up'));
    await vi.advanceTimersByTimeAsync(0);
    const [first, second] = run.events() as Array<Extract<SessionEvent, { type: 'request.failed' }>>;
    // A fetch that rejects fails as of when its request was sent.
    expect(first).toEqual({ type: 'request.failed', error: refused, request: refreshInput(), now: T0 });
    expect(second?.error.code).toBe('network');
    expect(second).toMatchObject({ request: { reason: 'retry' }, now: T0 + 1_000 });
    run.stop();
  });

  it("reports a failure the fetch resolved with at the time that answer came", async () => {
    const { run, pending } = requestChild();
    pending[0]!.resolve({ error: new AuthError(), receivedAt: T0 + 4_000 });
    await vi.advanceTimersByTimeAsync(0);
    expect(run.events()).toEqual([
      { type: 'request.failed', error: expect.any(AuthError), request: refreshInput(), now: T0 + 4_000 },
    ]);
    run.stop();
  });

  it('gives up after timeoutMs: aborts the signal and reports a NetworkError; a late answer is not reported', async () => {
    const { run, signals, pending } = requestChild();
    await vi.advanceTimersByTimeAsync(29_999);
    expect(run.events()).toEqual([]);
    expect(signals[0]!.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(signals[0]!.aborted).toBe(true);
    const [failure] = run.events() as Array<Extract<SessionEvent, { type: 'request.failed' }>>;
    expect(failure?.error).toBeInstanceOf(NetworkError);
    expect(failure).toMatchObject({ request: refreshInput(), now: T0 + 30_000 });
    pending[0]!.resolve({ token, receivedAt: T0 + 31_000 });
    await vi.advanceTimersByTimeAsync(0);
    expect(run.events()).toHaveLength(1);
    run.stop();
  });

  it('on request.abort aborts the signal and reports nothing, not even its timeout', async () => {
    const { run, signals, pending } = requestChild();
    run.send({ type: 'request.abort' });
    expect(signals[0]!.aborted).toBe(true);
    pending[0]!.resolve({ token, receivedAt: T0 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(run.events()).toEqual([]);
    run.stop();
  });
});
