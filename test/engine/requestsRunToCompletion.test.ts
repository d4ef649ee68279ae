import { describe, expect, it, vi } from 'vitest';
import { T0, createHarness, flush, rejectionOf, track, useEngineClock } from '../support/engineHarness.js';

useEngineClock();

/**
 * A sent refresh runs to completion: the server has usually rotated the refresh token by the time the network
 * blips, so the answer carrying the new one must be kept, or the next attempt replays the spent one (and
 * providers revoke the whole family for it). Only sign-out, stop and `refreshTimeoutMs` end a request early.
 * The harness fails any test in which a refresh token is sent again after an answer replaced it.
 */
describe('a refresh in flight', () => {
  it('is not aborted by an online$ blip, and the refresh token it brings is the one sent next', async () => {
    const h = createHarness();
    h.signIn({ sid: 's1', refreshToken: 'rt-1' });
    await vi.advanceTimersByTimeAsync(45_000);
    const inFlight = h.lastCall();
    h.online$.next(false);
    h.online$.next(true);
    await flush();
    expect(inFlight.ctx.signal.aborted).toBe(false);
    expect(h.calls).toHaveLength(1);

    const { accessToken } = inFlight.respond({ sid: 's1', refreshToken: 'rt-2' });
    await flush();
    expect(h.peekToken()).toBe(accessToken);
    await vi.advanceTimersByTimeAsync(45_000);
    expect(h.calls).toHaveLength(2);
    expect(h.lastCall().ctx.refreshToken).toBe('rt-2');
  });

  it('answering while the network is still down is kept, and served while valid', async () => {
    const h = createHarness();
    h.signIn({ sid: 's1', refreshToken: 'rt-1' });
    await vi.advanceTimersByTimeAsync(45_000);
    h.online$.next(false);
    const { accessToken } = h.lastCall().respond({ sid: 's1', refreshToken: 'rt-2' });
    await flush();
    expect(h.engine.getSnapshot().status).toBe('offline');
    expect(await h.getToken()).toBe(accessToken);
    h.online$.next(true);
    await vi.advanceTimersByTimeAsync(45_000);
    expect(h.lastCall().ctx.refreshToken).toBe('rt-2');
  });

  it("of a rotation is not aborted when the network goes down; its token is the new session's", async () => {
    const h = createHarness();
    h.signIn({ sid: 's1', refreshToken: 'rt-1' });
    h.engine.rotate();
    await flush();
    const rotation = h.lastCall();
    expect(rotation.ctx.reason).toBe('rotated');
    h.online$.next(false);
    await flush();
    expect(rotation.ctx.signal.aborted).toBe(false);
    expect(h.engine.getSnapshot().status).toBe('rotated');

    const { accessToken } = rotation.respond({ sid: 's2', refreshToken: 'rt-2' });
    await flush();
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'offline', sessionKey: 's2' });
    expect(await h.getToken()).toBe(accessToken);
    expect(h.calls).toHaveLength(1);
    h.online$.next(true);
    await vi.advanceTimersByTimeAsync(45_000);
    expect(h.lastCall().ctx.refreshToken).toBe('rt-2');
  });
});

describe('a refresh that never answers', () => {
  it('is given up after refreshTimeoutMs: every caller rejects with NetworkError, and the engine backs off', async () => {
    const h = createHarness({ refreshTimeoutMs: 30_000, retry: { jitter: false } });
    h.signIn({ sid: 's1', refreshToken: 'rt-1' });
    vi.setSystemTime(T0 + 70_000); // the token expired while the device slept
    const early = track(h.getToken());
    await vi.advanceTimersByTimeAsync(20_000);
    const late = track(h.getToken()); // joins the same request
    expect(h.calls).toHaveLength(1);
    const hung = h.lastCall();

    await vi.advanceTimersByTimeAsync(9_999);
    expect(early.settled || late.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(hung.ctx.signal.aborted).toBe(true);
    expect((early.error as { code?: string }).code).toBe('network');
    expect((late.error as { code?: string }).code).toBe('network');
    expect(h.engine.getSnapshot()).toMatchObject({ status: 'offline', sessionKey: 's1' });
    expect(h.engine.getSnapshot().error?.code).toBe('network');

    // The timeout is a network fault like any other: the retry comes after the first backoff step.
    await vi.advanceTimersByTimeAsync(999);
    expect(h.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls).toHaveLength(2);
    expect(h.lastCall().ctx).toMatchObject({ reason: 'retry', refreshToken: 'rt-1' });
    const { accessToken } = h.lastCall().respond();
    expect(await h.getToken()).toBe(accessToken);
  });

  it('never keeps a forced caller waiting past refreshTimeoutMs either', async () => {
    const h = createHarness({ refreshTimeoutMs: 5_000 });
    const held = h.signIn();
    const forced = h.getToken({ forceRefresh: true });
    await vi.advanceTimersByTimeAsync(5_000);
    expect((await rejectionOf(forced)).code).toBe('network');
    expect(h.peekToken()).toBe(held.accessToken);
  });
});
