import { afterEach, describe, expect, it } from 'vitest';
import { createActor, setup, type Actor, type AnyActorRef } from 'xstate';
import { AbortError, AuthError, InvalidTokenError, NetworkError } from '../../machines/errors.js';
import type { RefreshInput, SessionEvent } from '../../machines/types.js';
import { recordingRequestMachine, sessionOf, settle, token } from './machineHarness.js';

/**
 * The request child on its own, under a parent that only records what the child reports: the one refresh in
 * flight, how it ends (answer, typed failure, timeout, abort) and what it ignores.
 */

const T = 1_000_000;
const SENT = T + 50;
const REQUEST: RefreshInput = { session: sessionOf('s1', T), refreshToken: 'r1', reason: 'stale', satisfiedAfter: T };

let parent: Actor<ReturnType<typeof recordingParent>['machine']>;
afterEach(() => parent.stop());

function recordingParent(timeoutMs: number) {
  const request = recordingRequestMachine();
  const reports: SessionEvent[] = [];
  const machine = setup({ actors: { request: request.machine } }).createMachine({
    invoke: { src: 'request', id: 'request', input: { timeoutMs } },
    on: { '*': { actions: ({ event }) => reports.push(event as SessionEvent) } },
  });
  return { ...request, machine, reports };
}

function startChild(timeoutMs = 30_000) {
  const harness = recordingParent(timeoutMs);
  parent = createActor(harness.machine).start();
  const child = () => parent.getSnapshot().children.request as AnyActorRef;
  return { ...harness, child, state: () => child().getSnapshot().value };
}

type Failure = Extract<SessionEvent, { type: 'request.failed' }>;
const firstFailure = (reports: SessionEvent[]) => reports[0] as Failure;

/** A child with REQUEST out. */
function sending(timeoutMs?: number) {
  const h = startChild(timeoutMs);
  h.child().send({ type: 'request.send', request: REQUEST, now: SENT });
  return h;
}

describe('idle', () => {
  it('starts idle, with nothing sent and no timer armed', () => {
    const h = startChild();
    expect(h.state()).toBe('idle');
    expect(h.refreshes).toEqual([]);
    expect(h.timeouts).toEqual([]);
  });

  it('sends the request it is given and arms the timeout', () => {
    const h = sending(12_000);
    expect(h.state()).toBe('sending');
    expect(h.refreshes.map((call) => call.input)).toEqual([REQUEST]);
    expect(h.timeouts.map((timeout) => timeout.input)).toEqual([{ timeoutMs: 12_000 }]);
  });

  it('ignores an abort: there is nothing to abort', async () => {
    const h = startChild();
    h.child().send({ type: 'request.abort' });
    await settle();
    expect(h.state()).toBe('idle');
    expect(h.reports).toEqual([]);
  });
});

describe('sending', () => {
  it('reports the answer with the request it answers and when it was received, then is idle', async () => {
    const h = sending();
    const answered = token(T + 100, { refreshToken: 'r2' });
    h.lastRefresh().resolve({ token: answered, receivedAt: T + 900 });
    await settle();
    expect(h.reports).toEqual([{ type: 'request.done', token: answered, request: REQUEST, now: T + 900 }]);
    expect(h.state()).toBe('idle');
    expect(h.timeouts[0]!.armed()).toBe(false);
  });

  it('ignores a second request while one is out: the answer is the first one', async () => {
    const h = sending();
    h.child().send({ type: 'request.send', request: { ...REQUEST, refreshToken: 'other' }, now: SENT + 1 });
    expect(h.refreshes).toHaveLength(1);
    h.lastRefresh().resolve({ token: token(T), receivedAt: T });
    await settle();
    expect(h.reports).toMatchObject([{ type: 'request.done', request: REQUEST }]);
  });

  it('takes the next request once the first has answered', async () => {
    const h = sending();
    h.lastRefresh().resolve({ token: token(T), receivedAt: T });
    await settle();
    const next = { ...REQUEST, refreshToken: `r-${T}`, reason: 'retry' as const };
    h.child().send({ type: 'request.send', request: next, now: T + 1_000 });
    expect(h.refreshes.map((call) => call.input)).toEqual([REQUEST, next]);
    expect(h.timeouts).toHaveLength(2);
  });
});

describe('a failed refresh is reported typed', () => {
  it.each([
    ['auth', new AuthError()],
    ['invalid_token', new InvalidTokenError()],
    ['network', new NetworkError(undefined, { retryAfterMs: 5_000 })],
  ])('a %s error as it is, at the time the request was sent (a rejection carries none)', async (_, error) => {
    const h = sending();
    h.lastRefresh().reject(error);
    await settle();
    expect(h.reports).toEqual([{ type: 'request.failed', error, request: REQUEST, now: SENT }]);
    expect(h.state()).toBe('idle');
  });

  it('a failure the refresh resolved with its time: typed, as of that time', async () => {
    const h = sending();
    const thrown = new TypeError('fetch failed');
    h.lastRefresh().resolve({ error: thrown, receivedAt: SENT + 700 });
    await settle();
    const report = firstFailure(h.reports);
    expect(report).toMatchObject({ type: 'request.failed', request: REQUEST, now: SENT + 700 });
    expect(report.error.code).toBe('network');
    expect(report.error.cause).toBe(thrown);
    expect(h.state()).toBe('idle');
  });

  it('an error of another build of the package by its code', async () => {
    const h = sending();
    const foreign = Object.assign(new Error('refused'), { code: 'auth' });
    h.lastRefresh().reject(foreign);
    await settle();
    expect(h.reports).toMatchObject([{ type: 'request.failed', error: foreign }]);
  });

  it.each([
    ['a plain Error', new TypeError('fetch failed')],
    ['an AbortError', new AbortError()],
    ['a thrown string', 'boom'],
  ])('%s as a NetworkError with it as the cause', async (_, thrown) => {
    const h = sending();
    h.lastRefresh().reject(thrown);
    await settle();
    const report = firstFailure(h.reports);
    expect(report.error).toBeInstanceOf(NetworkError);
    expect(report.error.code).toBe('network');
    expect(report.error.cause).toBe(thrown);
    expect(report.request).toBe(REQUEST);
  });
});

describe('the timeout', () => {
  it('aborts the refresh and reports a NetworkError for its request, at the time it fired', async () => {
    const h = sending();
    const { signal } = h.lastRefresh();
    h.timeouts[0]!.fire(SENT + 30_000);
    await settle();
    expect(signal.aborted).toBe(true);
    expect(h.state()).toBe('idle');
    expect(h.reports).toHaveLength(1);
    expect(h.reports[0]).toMatchObject({ type: 'request.failed', request: REQUEST, now: SENT + 30_000 });
    expect(firstFailure(h.reports).error.code).toBe('network');
  });

  it("drops the timed-out refresh's late answer", async () => {
    const h = sending();
    h.timeouts[0]!.fire(SENT + 30_000);
    await settle();
    h.lastRefresh().resolve({ token: token(T), receivedAt: T + 31_000 });
    await settle();
    expect(h.reports.map((report) => report.type)).toEqual(['request.failed']);
  });
});

describe('request.abort (a sign-out)', () => {
  it('aborts the refresh, stops its timer and reports nothing, even a late answer', async () => {
    const h = sending();
    const { signal } = h.lastRefresh();
    h.child().send({ type: 'request.abort' });
    expect(signal.aborted).toBe(true);
    expect(h.state()).toBe('idle');
    expect(h.timeouts[0]!.armed()).toBe(false);
    h.lastRefresh().resolve({ token: token(T), receivedAt: T + 1 });
    await settle();
    expect(h.reports).toEqual([]);
  });
});
