// @vitest-environment jsdom
import { act, renderHook } from '@testing-library/react';
import { BaseConvexClient } from 'convex/browser';
import { decodeJwt } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import { createConvexAuth, useConvexAuth, type FetchAccessToken } from '../src/convex/index.js';
import { NetworkError } from '../src/index.js';
import { T0, createHarness, flush, track, useEngineClock, type Harness, type HarnessOptions } from './support/engineHarness.js';

useEngineClock();

const ZERO_TS = 'AAAAAAAAAAA='; // a u64 0, as Convex encodes timestamps
const expiryOf = (token: string) => (decodeJwt(token).exp as number) * 1000;

/**
 * A Convex deployment behind a fake WebSocket: it answers the sync protocol's Connect, ModifyQuerySet and
 * Authenticate messages with Transitions, rejects an expired token, and (like the real backend) sends an
 * AuthError when the token a connection is authenticated with expires. `up = false` drops every socket.
 */
function fakeDeployment() {
  const deployment = {
    up: true,
    accepted: [] as Array<{ token: string; at: number }>,
    expiredWhileConnected: 0,
    rejectedExpired: 0,
    sockets: [] as FakeSocket[],
  };
  class FakeSocket {
    onopen: (() => void) | null = null;
    onmessage: ((event: { data: string }) => void) | null = null;
    onclose: ((event: { code: number; reason: string }) => void) | null = null;
    readyState = 0;
    private version = { querySet: 0, identity: 0 };
    private timers: Array<ReturnType<typeof setTimeout>> = [];
    constructor() {
      deployment.sockets.push(this);
      setTimeout(() => (deployment.up ? this.open() : this.drop()), 0);
    }
    private open() {
      this.readyState = 1;
      this.onopen?.();
      this.timers.push(setInterval(() => this.reply({ type: 'Ping' }), 20_000));
    }
    drop(code = 1006) {
      this.readyState = 3;
      for (const timer of this.timers) clearTimeout(timer);
      queueMicrotask(() => this.onclose?.({ code, reason: '' }));
    }
    close() {
      this.drop(1000);
    }
    send(raw: string) {
      const message = JSON.parse(raw) as { type: string; newVersion?: number; baseVersion?: number; value?: string };
      if (message.type === 'ModifyQuerySet') this.transition({ querySet: message.newVersion as number });
      if (message.type !== 'Authenticate') return;
      const token = message.value;
      if (token !== undefined && expiryOf(token) <= Date.now()) {
        deployment.rejectedExpired += 1;
        this.reply({ type: 'AuthError', error: 'token expired', baseVersion: message.baseVersion, authUpdateAttempted: true });
        return;
      }
      if (token !== undefined) {
        deployment.accepted.push({ token, at: Date.now() });
        const identity = (message.baseVersion as number) + 1;
        this.timers.push(
          setTimeout(() => {
            if (this.version.identity !== identity || this.readyState !== 1) return;
            deployment.expiredWhileConnected += 1;
            this.reply({ type: 'AuthError', error: 'token expired', baseVersion: identity - 1, authUpdateAttempted: false });
          }, expiryOf(token) - Date.now()),
        );
      }
      this.transition({ identity: (message.baseVersion as number) + 1 });
    }
    private transition(change: Partial<typeof this.version>) {
      const startVersion = { ...this.version, ts: ZERO_TS };
      this.version = { ...this.version, ...change };
      this.reply({ type: 'Transition', startVersion, endVersion: { ...this.version, ts: ZERO_TS }, modifications: [] });
    }
    private reply(message: object) {
      if (this.readyState === 1) setTimeout(() => this.onmessage?.({ data: JSON.stringify(message) }), 0);
    }
  }
  const setDown = (down: boolean) => {
    deployment.up = !down;
    if (down) for (const socket of deployment.sockets) if (socket.readyState === 1) socket.drop();
  };
  return { deployment, FakeSocket, setDown };
}

/** A real Convex client on the fake deployment, authenticated through the adapter; records every fetch. */
function convexOn(h: Harness, options: { initialAuthTokenReuse?: boolean; authRefreshTokenLeewaySeconds?: number } = {}) {
  const { deployment, FakeSocket, setDown } = fakeDeployment();
  const client = new BaseConvexClient('https://fake-deployment.convex.cloud', () => {}, {
    webSocketConstructor: FakeSocket as unknown as typeof WebSocket,
    unsavedChangesWarning: false,
    logger: false,
    ...options,
  });
  const auth = createConvexAuth(h.engine);
  const fetches: Array<{ forced: boolean; token: string | null | undefined; at: number }> = [];
  const authChanges: boolean[] = [];
  const fetchAccessToken: FetchAccessToken = async (args) => {
    const fetch = { forced: args?.forceRefreshToken === true, token: undefined as string | null | undefined, at: Date.now() };
    fetches.push(fetch);
    fetch.token = await auth.fetchAccessToken(args);
    return fetch.token;
  };
  client.setAuth(fetchAccessToken, (isAuthenticated) => authChanges.push(isAuthenticated));
  return { client, deployment, setDown, fetches, authChanges };
}

const autoRefresh = (h: Harness) => {
  h.reply = (call) => call.respond({ sid: call.ctx.reason === 'rotated' ? 's2' : 's1' });
};
/** Convex's socket round trips add a few ms per cycle: a second of slack keeps the 80th refresh inside the run. */
const HOUR_AND_A_SECOND = 3_601_000;
const reasons = (h: Harness) => h.calls.map((call) => call.ctx.reason);

/** Signed in, the first token handed out to Convex, and a forced call now waiting on its refresh. */
async function forcedCallInFlight(options: HarnessOptions = {}) {
  const h = createHarness(options);
  const first = h.signIn();
  const { fetchAccessToken } = createConvexAuth(h.engine);
  await fetchAccessToken();
  const forced = track(fetchAccessToken({ forceRefreshToken: true }));
  await flush();
  return { h, first, forced };
}

describe('fetchAccessToken, line by line', () => {
  it('hands out the held token without a request, even with the network down, and null only once signed out', async () => {
    const h = createHarness();
    const auth = createConvexAuth(h.engine);
    expect(await auth.fetchAccessToken({ forceRefreshToken: false })).toBeNull();
    const { accessToken } = h.signIn();
    expect(await auth.fetchAccessToken({ forceRefreshToken: false })).toBe(accessToken);
    h.online$.next(false);
    expect(await auth.fetchAccessToken()).toBe(accessToken);
    expect(h.calls).toHaveLength(0);
    h.engine.signOut();
    expect(await auth.fetchAccessToken({ forceRefreshToken: true })).toBeNull();
  });

  it('a forced call returns the held token when it is newer than the last one handed out (no request)', async () => {
    const h = createHarness();
    autoRefresh(h);
    const first = h.signIn();
    const { fetchAccessToken } = createConvexAuth(h.engine);
    expect(await fetchAccessToken()).toBe(first.accessToken);
    await vi.advanceTimersByTimeAsync(45_000); // the engine's own background refresh
    expect(reasons(h)).toEqual(['stale']);
    const forced = await fetchAccessToken({ forceRefreshToken: true });
    expect(forced).toBe(h.peekToken());
    expect(forced).not.toBe(first.accessToken);
    expect(h.calls).toHaveLength(1);
  });

  it('otherwise makes one forced refresh, shared by concurrent forced calls', async () => {
    const h = createHarness();
    const first = h.signIn();
    const { fetchAccessToken } = createConvexAuth(h.engine);
    await fetchAccessToken();
    const calls = [1, 2, 3].map(() => track(fetchAccessToken({ forceRefreshToken: true })));
    await flush();
    expect(reasons(h)).toEqual(['forced']);
    const second = h.lastCall().respond();
    await flush();
    expect(calls.map((call) => call.value)).toEqual([second.accessToken, second.accessToken, second.accessToken]);
    expect(second.accessToken).not.toBe(first.accessToken);
  });

  it('a forced call that meets a network fault keeps to the backoff, then forces again: never rejects, never the same string', async () => {
    const { h, first, forced } = await forcedCallInFlight({ retry: { baseMs: 1_000, factor: 2, jitter: false } });
    h.lastCall().fail(new NetworkError());
    await flush();
    expect(forced.settled).toBe(false);
    expect(h.peekToken()).toBe(first.accessToken); // still held and valid, but already handed out
    // The engine's backoff timer finds the held token fresh and sends nothing: the step's one attempt is the adapter's.
    await vi.advanceTimersByTimeAsync(999);
    expect(reasons(h)).toEqual(['forced']);
    await vi.advanceTimersByTimeAsync(1);
    expect(reasons(h)).toEqual(['forced', 'forced']);
    h.lastCall().fail(new NetworkError());
    await vi.advanceTimersByTimeAsync(1_999); // the second step is twice as long
    expect(reasons(h)).toEqual(['forced', 'forced']);
    await vi.advanceTimersByTimeAsync(1);
    const next = h.lastCall().respond();
    await flush();
    expect(reasons(h)).toEqual(['forced', 'forced', 'forced']);
    expect(forced.value).toBe(next.accessToken);
    expect(forced.error).toBeUndefined();
  });

  it('a forced call never returns the same string, even when the server answers it again', async () => {
    const { h, first, forced } = await forcedCallInFlight({ retry: { baseMs: 1_000, jitter: false } });
    h.lastCall().resolve({ accessToken: first.accessToken }); // no new token: a failed attempt, backed off
    await vi.advanceTimersByTimeAsync(999);
    expect(forced.settled).toBe(false);
    expect(reasons(h)).toEqual(['forced']);
    await vi.advanceTimersByTimeAsync(1);
    const next = h.lastCall().respond();
    await flush();
    expect(reasons(h)).toEqual(['forced', 'forced']);
    expect(forced.value).toBe(next.accessToken);
  });

  it('a forced call waiting out a backoff settles with null when the engine stops', async () => {
    const { h, forced } = await forcedCallInFlight();
    h.lastCall().fail(new NetworkError());
    await flush();
    h.engine.stop();
    await flush();
    expect(forced).toMatchObject({ settled: true, value: null, error: undefined });
  });

  it('with no valid token during an outage, waits for the network rather than answer null or a stale token', async () => {
    const h = createHarness();
    let online = true;
    h.reply = (call) => (online ? call.respond() : call.fail());
    const first = h.signIn();
    online = false;
    h.online$.next(false);
    vi.setSystemTime(T0 + 70_000); // the held token expired during the outage
    const { fetchAccessToken } = createConvexAuth(h.engine);
    const plain = track(fetchAccessToken());
    const forced = track(fetchAccessToken({ forceRefreshToken: true }));
    await vi.advanceTimersByTimeAsync(120_000);
    expect(h.calls.length).toBeGreaterThan(0); // the forced call did try, and failed
    expect(plain.settled).toBe(false);
    expect(forced.settled).toBe(false);
    online = true;
    h.online$.next(true);
    await flush();
    expect(plain.value).toBe(h.peekToken());
    expect(forced.value).toBe(h.peekToken());
    expect(forced.value).not.toBe(first.accessToken);
  });

  it('a call waiting through an outage settles with null when the session is signed out', async () => {
    const h = createHarness();
    h.signIn();
    h.online$.next(false);
    vi.setSystemTime(T0 + 70_000);
    const waiting = track(createConvexAuth(h.engine).fetchAccessToken());
    await flush();
    h.engine.signOut();
    await flush();
    expect(waiting).toMatchObject({ settled: true, value: null, error: undefined });
  });
});

describe('identity of fetchAccessToken and of the hook result', () => {
  it('changes when session$ emits (sign-in, rotation, sign-out) and never on a refresh', async () => {
    const h = createHarness();
    autoRefresh(h);
    const plain = createConvexAuth(h.engine);
    const { result } = renderHook(() => useConvexAuth(h.engine));
    const seen = () => ({ hook: result.current, fetcher: plain.fetchAccessToken });
    const signedOut = seen();
    expect(signedOut.hook).toMatchObject({ isLoading: false, isAuthenticated: false });

    await act(async () => h.signIn({ sid: 's1' }));
    const s1 = seen();
    expect(s1.hook).toMatchObject({ isLoading: false, isAuthenticated: true });
    expect(s1.hook).not.toBe(signedOut.hook);
    expect(s1.fetcher).not.toBe(signedOut.fetcher);

    for (let i = 0; i < 5; i += 1) await act(() => vi.advanceTimersByTimeAsync(45_000));
    expect(reasons(h)).toEqual(['stale', 'stale', 'stale', 'stale', 'stale']);
    expect(seen()).toEqual(s1);
    expect(result.current).toBe(s1.hook);

    await act(async () => {
      h.engine.rotate();
      await flush();
    });
    const s2 = seen();
    expect(h.engine.getSnapshot().sessionKey).toBe('s2');
    expect(s2.hook).not.toBe(s1.hook);
    expect(s2.fetcher).not.toBe(s1.fetcher);
    expect(s2.hook.isAuthenticated).toBe(true);

    await act(async () => h.engine.signOut());
    expect(seen().hook).toMatchObject({ isLoading: false, isAuthenticated: false });
    expect(seen().fetcher).not.toBe(s2.fetcher);
  });
});

describe('one refresh request per token life with Convex on top (an hour of 60 s tokens, 15 s lead)', () => {
  it('a simulated Convex that forces a refetch 10 s before its token expires adds no request', async () => {
    const h = createHarness();
    autoRefresh(h);
    h.signIn();
    const { fetchAccessToken } = createConvexAuth(h.engine);
    const handedOut: string[] = [];
    const refetch = async (forceRefreshToken: boolean) => {
      const token = (await fetchAccessToken({ forceRefreshToken })) as string;
      handedOut.push(token);
      setTimeout(() => void refetch(true), expiryOf(token) - 10_000 - Date.now());
    };
    await refetch(false);
    await vi.advanceTimersByTimeAsync(3_600_000);
    // Ideal: 3600 s / (60 s - 15 s) = 80, all the engine's own background refreshes: amplification 1.00.
    expect(reasons(h)).toEqual(Array(80).fill('stale'));
    expect(handedOut.length).toBeGreaterThanOrEqual(80);
    expect(new Set(handedOut).size).toBe(handedOut.length);
  });

  it.each([true, false])(
    'the real client never holds an expired token, even with default leeways (initialAuthTokenReuse: %s)',
    async (initialAuthTokenReuse) => {
      const h = createHarness();
      autoRefresh(h);
      h.signIn();
      const convex = convexOn(h, { initialAuthTokenReuse });
      await vi.advanceTimersByTimeAsync(HOUR_AND_A_SECOND);
      // The engine's 15 s lead is above Convex's 10 s leeway: a held token older than 10 s is not handed over
      // (it would expire in Convex's hands), so some forced calls cost a request. See docs/convex.md.
      expect(convex.deployment).toMatchObject({ expiredWhileConnected: 0, rejectedExpired: 0 });
      expect(h.calls.length).toBeLessThanOrEqual(110);
      for (const fetch of convex.fetches) expect(expiryOf(fetch.token as string)).toBeGreaterThan(fetch.at);
      expect(convex.authChanges).not.toContain(false);
      await convex.client.close();
    },
  );

  it('with the engine lead below Convex leeway: one request per token life and no expired token', async () => {
    const h = createHarness({ refreshThresholdMs: 8_000 });
    autoRefresh(h);
    h.signIn();
    const convex = convexOn(h, { initialAuthTokenReuse: true });
    await vi.advanceTimersByTimeAsync(HOUR_AND_A_SECOND);
    const ideal = 3_600 / (60 - 8);
    expect(h.calls.length / ideal).toBeLessThanOrEqual(1.05);
    expect(convex.deployment).toMatchObject({ expiredWhileConnected: 0, rejectedExpired: 0 });
    await convex.client.close();
  });

  it('with Convex refetching earlier than the engine, Convex drives each refresh and never holds an expired token', async () => {
    const h = createHarness();
    autoRefresh(h);
    h.signIn();
    const convex = convexOn(h, { initialAuthTokenReuse: true, authRefreshTokenLeewaySeconds: 20 });
    await vi.advanceTimersByTimeAsync(HOUR_AND_A_SECOND);
    // One request per token life at Convex's 20 s lead: 3600 s / (60 s - 20 s) = 90, each one Convex's forced call.
    expect(reasons(h)).toEqual(Array(90).fill('forced'));
    expect(convex.deployment).toMatchObject({ expiredWhileConnected: 0, rejectedExpired: 0 });
    expect(convex.authChanges).not.toContain(false);
    await convex.client.close();
  });
});

describe('under the real convex client (BaseConvexClient on a fake WebSocket)', () => {
  it('setAuth: Convex asks for a token, then forces a newer one once its server confirmed the first', async () => {
    const h = createHarness();
    autoRefresh(h);
    const first = h.signIn();
    const convex = convexOn(h);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(convex.fetches.map((f) => f.forced)).toEqual([false, true]);
    expect(convex.fetches[0]?.token).toBe(first.accessToken);
    expect(reasons(h)).toEqual(['forced']); // Convex's post-confirmation refetch: one request per setAuth
    expect(convex.deployment.accepted.map((a) => a.token)).toEqual([first.accessToken, h.peekToken()]);
    expect(convex.authChanges).not.toContain(false);
    await convex.client.close();
  });

  it('through an outage longer than the token life, Convex waits, is never signed out, and resumes with a fresh token', async () => {
    const h = createHarness({ retry: { baseMs: 1_000, maxMs: 8_000 } });
    let online = true;
    h.reply = (call) => (online ? call.respond() : call.fail());
    h.signIn();
    const convex = convexOn(h, { initialAuthTokenReuse: true, authRefreshTokenLeewaySeconds: 20 });
    await vi.advanceTimersByTimeAsync(30_000);
    online = false;
    h.online$.next(false);
    convex.setDown(true);
    await vi.advanceTimersByTimeAsync(120_000);
    const waiting = convex.fetches.at(-1);
    expect(waiting).toMatchObject({ forced: true, token: undefined }); // asked at 40 s, still waiting at 150 s

    online = true;
    h.online$.next(true);
    convex.setDown(false);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(waiting?.token).toBe(convex.deployment.accepted.at(-1)?.token);
    expect(expiryOf(waiting?.token as string)).toBeGreaterThan(Date.now());
    expect(convex.deployment).toMatchObject({ rejectedExpired: 0 });
    expect(convex.fetches.map((f) => f.token)).not.toContain(null);
    expect(convex.authChanges).not.toContain(false);
    await convex.client.close();
  });
});
