import { firstValueFrom, take, type Subscription } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import type { SessionInfo, SessionSnapshot } from '../../src/index.js';
import { T0, createHarness, flush, useEngineClock } from '../support/engineHarness.js';

useEngineClock();

describe('subscribe', () => {
  it('calls the listener on each change of the snapshot until unsubscribed', async () => {
    const h = createHarness();
    const seen: SessionSnapshot[] = [];
    const unsubscribe = h.engine.subscribe((snapshot) => seen.push(snapshot));
    expect(seen).toHaveLength(0);

    h.signIn();
    await vi.advanceTimersByTimeAsync(45_000);
    h.lastCall().respond();
    await flush();
    expect(seen.map((s) => s.status)).toEqual(['fresh', 'stale', 'refreshing', 'fresh']);
    expect(seen.at(-1)).toMatchObject({ sessionKey: 's1', expiresAt: T0 + 105_000, lastRefreshAt: T0 + 45_000 });
    expect(seen.at(-1)).toBe(h.engine.getSnapshot());

    unsubscribe();
    h.engine.signOut();
    expect(seen).toHaveLength(4);
  });

  it('does not call the listener when nothing it reports changed since it subscribed', async () => {
    const h = createHarness();
    h.signIn(); // nobody reads the snapshot before subscribing
    const listener = vi.fn();
    h.engine.subscribe(listener);
    await vi.advanceTimersByTimeAsync(30_000);
    await h.getToken();
    h.peekToken();
    expect(listener).not.toHaveBeenCalled();
  });
});

describe('session$', () => {
  it('replays the current session to a late subscriber', () => {
    const h = createHarness();
    h.signIn({ sid: 's1', sub: 'user-7' });
    const seen: Array<SessionInfo | null> = [];
    h.engine.session$.subscribe((session) => seen.push(session));
    expect(seen).toEqual([{ sessionKey: 's1', userId: 'user-7', startedAt: T0 }]);
  });

  it('emits only on sign-in, rotation and sign-out, never on refreshes', async () => {
    const h = createHarness();
    const seen: Array<SessionInfo | null> = [];
    h.engine.session$.subscribe((session) => seen.push(session));
    expect(seen).toEqual([null]);

    h.signIn({ sid: 's1' });
    const session = seen[1];
    h.reply = (call) => call.respond({ sid: 's1' });
    await vi.advanceTimersByTimeAsync(10 * 45_000);
    expect(h.calls).toHaveLength(10);
    expect(seen).toHaveLength(2);
    let current: SessionInfo | null = null;
    h.engine.session$.subscribe((value) => (current = value)).unsubscribe();
    expect(current).toBe(session);

    h.reply = (call) => call.respond({ sid: 's2' });
    h.engine.rotate();
    await flush();
    h.engine.signOut();
    expect(seen.map((s) => s?.sessionKey ?? null)).toEqual([null, 's1', 's2', null]);
  });

  it('does not emit when a sign-in brings another token of the same session', () => {
    const h = createHarness();
    const seen: Array<SessionInfo | null> = [];
    h.engine.session$.subscribe((session) => seen.push(session));
    h.signIn({ sid: 's1' });
    h.signIn({ sid: 's1' });
    expect(seen).toHaveLength(2);
  });
});

describe('token$', () => {
  it('replays the current token and emits each new token, null on rotation and sign-out', async () => {
    const h = createHarness();
    const seen: Array<string | null> = [];
    h.engine.token$.subscribe((token) => seen.push(token));
    const first = h.signIn().accessToken;
    await vi.advanceTimersByTimeAsync(45_000);
    const second = h.lastCall().respond().accessToken;
    await flush();

    const late: Array<string | null> = [];
    h.engine.token$.subscribe((token) => late.push(token));
    expect(late).toEqual([second]);

    h.engine.rotate();
    await flush();
    const third = h.lastCall().respond({ sid: 's2' }).accessToken;
    await flush();
    h.engine.signOut();
    expect(seen).toEqual([null, first, second, null, third, null]);
  });

  it('does not emit again while the token stays the same', async () => {
    const h = createHarness();
    const seen: Array<string | null> = [];
    h.engine.token$.subscribe((token) => seen.push(token));
    h.signIn();
    await vi.advanceTimersByTimeAsync(45_000); // fresh -> stale -> refreshing
    expect(seen).toHaveLength(2);
  });

  it('never replays an expired token, nor one inside the leeway', () => {
    const h = createHarness();
    const { accessToken } = h.signIn();
    const replayAt = (time: number) => {
      vi.setSystemTime(time);
      const seen: Array<string | null> = [];
      h.engine.token$.subscribe((token) => seen.push(token)).unsubscribe();
      return seen;
    };
    expect(replayAt(T0 + 54_999)).toEqual([accessToken]);
    expect(replayAt(T0 + 55_000)).toEqual([null]);
    expect(replayAt(T0 + 70_000)).toEqual([null]);
  });
});

describe('session$ and token$ with RxJS', () => {
  it('take an observer with no next (complete only): nothing is thrown or reported, and it hears the end on stop()', async () => {
    const onError = vi.fn();
    const h = createHarness({ onError });
    const ended: string[] = [];
    h.engine.session$.subscribe({ complete: () => ended.push('session$') });
    h.engine.token$.subscribe({ complete: () => ended.push('token$') });
    h.signIn();
    await vi.advanceTimersByTimeAsync(0);
    h.engine.stop();
    expect(ended).toEqual(['session$', 'token$']);
    expect(onError).not.toHaveBeenCalled();
  });

  it('complete when the actor fails (an event sent to engine.actor that the machine cannot take): no subscriber waits forever', async () => {
    const h = createHarness();
    h.signIn();
    const ended: string[] = [];
    h.engine.session$.subscribe({ complete: () => ended.push('session$') });
    h.engine.token$.subscribe({ complete: () => ended.push('token$') });
    h.engine.actor.send({ type: 'user.signIn', now: Date.now() } as unknown as Parameters<typeof h.engine.actor.send>[0]);
    await flush();
    expect(h.engine.actor.getSnapshot().status).toBe('error');
    expect(ended).toEqual(['session$', 'token$']);
  });

  it('let go of the engine when a pipe of them ends (firstValueFrom, take): no observer is left on the actor', async () => {
    const h = createHarness();
    h.signIn();
    let observing = 0;
    const subscribe = h.engine.actor.subscribe.bind(h.engine.actor) as (observer: object) => Subscription;
    vi.spyOn(h.engine.actor, 'subscribe').mockImplementation(((observer: object) => {
      const subscription = subscribe(observer);
      observing += 1;
      return { unsubscribe: () => ((observing -= 1), subscription.unsubscribe()) };
    }) as typeof h.engine.actor.subscribe);

    expect(await firstValueFrom(h.engine.session$)).toMatchObject({ sessionKey: 's1' });
    h.engine.token$.pipe(take(1)).subscribe(() => {});
    expect(observing).toBe(0);
  });
});
