/**
 * sessionchart/testing's token server faults, on demand: down, 5xx, 429 with Retry-After, slow, hang and garbage,
 * for the next requests, standing, or by time; in process (the engine's errors) and as HTTP would answer them.
 */
import { describe, expect, it, vi } from 'vitest';
import { refreshContext, useServerClock } from './serverClock.js';
import { T0, createTokenServer, flushPromises, type Fault } from 'sessionchart/testing';

useServerClock();
const context = refreshContext;
const outcomeOf = (promise: Promise<unknown>) => promise.then((value) => ({ value }), (error: unknown) => ({ error }));

describe.each<[string, Fault, Record<string, unknown>, Record<string, unknown>]>([
  ['down', { kind: 'down' }, { code: 'network', cause: expect.any(TypeError) }, {}],
  ['5xx', { kind: '5xx', status: 502 }, { code: 'network', message: expect.stringContaining('502') }, { status: 502 }],
  ['429', { kind: '429', retryAfterSeconds: 30 }, { code: 'network', retryAfterMs: 30_000 }, { status: 429, retryAfterSeconds: 30 }],
  ['garbage', { kind: 'garbage' }, { code: 'invalid_token' }, { status: 200, body: expect.stringContaining('<title>') }],
])('a %s fault', (_name, fault, refreshed, exchanged) => {
  it('fails the request as the engine expects it to, and spends nothing: the refresh token still works', async () => {
    const server = createTokenServer();
    const { refreshToken } = server.signIn();
    server.failNext(fault);
    expect(await outcomeOf(server.refresh(context(refreshToken)))).toEqual({ error: expect.objectContaining(refreshed) });
    expect(await outcomeOf(server.refresh(context(refreshToken)))).toEqual({ value: expect.objectContaining({ accessToken: expect.any(String) }) });
    expect(server.counters).toMatchObject({ requests: 2, faults: 1, granted: 1, replays: 0 });
  });

  it('answers as HTTP would', async () => {
    const server = createTokenServer();
    server.failNext(fault);
    const answer = await outcomeOf(server.exchange(server.signIn().refreshToken));
    if (fault.kind === 'down') expect(answer).toEqual({ error: expect.any(TypeError) });
    else expect(answer).toEqual({ value: expect.objectContaining(exchanged) });
  });
});

describe('faults', () => {
  it('a 429 counts every request that comes before its Retry-After has passed', async () => {
    const server = createTokenServer();
    const { refreshToken } = server.signIn();
    server.failNext({ kind: '429', retryAfterSeconds: 10 });
    await outcomeOf(server.refresh(context(refreshToken)));
    vi.setSystemTime(T0 + 4_000);
    await server.refresh(context(refreshToken));
    vi.setSystemTime(T0 + 10_000);
    await outcomeOf(server.exchange('rt-unknown'));
    expect(server.counters).toMatchObject({ earlyRetries: 1, earlyRetryMaxMs: 6_000 });
  });

  it('slow: answers normally, late on the fake clock; down after a delay of its own', async () => {
    const server = createTokenServer();
    const { refreshToken } = server.signIn();
    server.failNext({ kind: 'slow', latencyMs: 5_000 });
    server.failNext({ kind: 'down', afterMs: 50 });
    const slow = outcomeOf(server.refresh(context(refreshToken)));
    const down = outcomeOf(server.refresh(context(refreshToken)));
    await vi.advanceTimersByTimeAsync(50);
    expect(await down).toEqual({ error: expect.objectContaining({ code: 'network' }) });
    await vi.advanceTimersByTimeAsync(4_949);
    expect(server.counters.inFlight).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await slow).toEqual({ value: expect.objectContaining({ accessToken: expect.any(String) }) });
  });

  it('hang: a queued one answers no one until its client gives up, spending nothing', async () => {
    const server = createTokenServer();
    const { refreshToken } = server.signIn();
    server.failNext({ kind: 'hang' });
    const gaveUp = new AbortController();
    const hung = outcomeOf(server.refresh(context(refreshToken, gaveUp.signal)));
    await vi.advanceTimersByTimeAsync(600_000);
    expect(server.requests[0]).toMatchObject({ state: 'hanging', settled: false });
    gaveUp.abort();
    expect(await hung).toEqual({ error: expect.objectContaining({ name: 'AbortError' }) });
    expect((await server.refresh(context(refreshToken))).accessToken).toEqual(expect.any(String));
  });

  it('a standing fault meets every request until lifted; lifting a hang lets the hanging requests go on', async () => {
    const server = createTokenServer();
    const { refreshToken } = server.signIn();
    server.fault = { kind: '5xx' };
    expect(await outcomeOf(server.refresh(context(refreshToken)))).toEqual({ error: expect.objectContaining({ code: 'network' }) });
    server.fault = { kind: 'hang' };
    const hung = outcomeOf(server.refresh(context(refreshToken)));
    await flushPromises();
    expect(server.counters.inFlight).toBe(1);
    server.fault = null;
    expect(await hung).toEqual({ value: expect.objectContaining({ accessToken: expect.any(String) }) });
  });

  it('the next requests meet the queued faults first, then the standing one, then the one for their time', async () => {
    const server = createTokenServer({ faultAt: (now) => (now >= T0 + 1_000 ? { kind: '5xx', status: 504 } : null) });
    server.failNext({ kind: '5xx', status: 500 }, 2);
    server.fault = { kind: '5xx', status: 501 };
    const statuses = async () => ((await server.exchange('rt')).status);
    expect([await statuses(), await statuses(), await statuses()]).toEqual([500, 500, 501]);
    server.fault = null;
    expect(await statuses()).toBe(400);
    vi.setSystemTime(T0 + 1_000);
    expect(await statuses()).toBe(504);
  });
});
