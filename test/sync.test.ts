import { BehaviorSubject } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { syncSession, type SyncStatus } from '../src/sync/index.js';
import { NetworkError } from '../src/index.js';
import { createHarness, flush, useEngineClock, type Harness } from './support/engineHarness.js';

useEngineClock();

interface Send {
  readonly token: string;
  readonly signal: AbortSignal;
  readonly at: number;
  settled: boolean;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * A backend behind a transport that can drop and come back. `answer` decides how each send ends: acknowledged
 * at once, failed at once, or held for the test to settle. `log` records sends, aborts and clears in order.
 */
function fakeBackend(connected = true) {
  const transport$ = new BehaviorSubject(connected);
  const sends: Send[] = [];
  const log: string[] = [];
  const overlaps: string[] = [];
  const backend = {
    transport$,
    sends,
    log,
    overlaps,
    answer: 'ack' as 'ack' | 'fail' | 'hold',
    clears: 0,
    send(token: string, signal: AbortSignal) {
      const live = sends.filter((s) => !s.settled && !s.signal.aborted);
      if (live.length > 0) overlaps.push(`send started while ${live.length} other(s) were live`);
      log.push(`send ${token}`);
      signal.addEventListener('abort', () => log.push(`abort ${token}`));
      return new Promise<void>((resolve, reject) => {
        const send: Send = {
          token,
          signal,
          at: Date.now(),
          settled: false,
          resolve: () => ((send.settled = true), resolve()),
          reject: (error) => ((send.settled = true), reject(error)),
        };
        sends.push(send);
        if (backend.answer === 'ack') send.resolve();
        if (backend.answer === 'fail') send.reject(new NetworkError());
      });
    },
    clear() {
      backend.clears += 1;
      log.push('clear');
    },
  };
  return backend;
}

function start(h: Harness, backend: ReturnType<typeof fakeBackend>, backoff = { baseMs: 1_000, maxMs: 8_000 }) {
  const sync = syncSession(h.engine, { ...backend, backoff });
  const statuses: SyncStatus[] = [];
  sync.status$.subscribe((status) => statuses.push(status));
  return { sync, statuses };
}

/** Answers every refresh with a token of the session it was asked for (sid `s2` after a rotation). */
function autoRefresh(h: Harness): string[] {
  const issued: string[] = [];
  h.reply = (call) => issued.push(call.respond({ sid: call.ctx.reason === 'rotated' ? 's2' : 's1' }).accessToken);
  return issued;
}

describe('syncSession sending tokens', () => {
  it('sends the signed-in token and each refreshed token exactly once', async () => {
    const h = createHarness();
    const refreshed = autoRefresh(h);
    const backend = fakeBackend();
    const { statuses } = start(h, backend);
    const { accessToken } = h.signIn();
    await flush();
    expect(backend.sends.map((s) => s.token)).toEqual([accessToken]);

    await vi.advanceTimersByTimeAsync(45_000 * 3);
    expect(refreshed).toHaveLength(3);
    expect(backend.sends.map((s) => s.token)).toEqual([accessToken, ...refreshed]);
    expect(statuses.at(-1)).toBe('synced');
    expect(backend.overlaps).toEqual([]);
  });

  it('re-sends the current token once per reconnect and nothing while disconnected', async () => {
    const h = createHarness();
    autoRefresh(h);
    const backend = fakeBackend();
    const { statuses } = start(h, backend);
    const { accessToken } = h.signIn();
    await flush();

    backend.transport$.next(false);
    expect(statuses.at(-1)).toBe('idle');
    await vi.advanceTimersByTimeAsync(45_000 * 2); // two refreshes while the socket is down
    expect(h.calls).toHaveLength(2);
    expect(backend.sends.map((s) => s.token)).toEqual([accessToken]);

    backend.transport$.next(true);
    await flush();
    expect(backend.sends.map((s) => s.token)).toEqual([accessToken, h.peekToken()]);
    backend.transport$.next(true); // the same state again is not a reconnect
    backend.transport$.next(false);
    backend.transport$.next(true);
    await flush();
    expect(backend.sends.map((s) => s.token)).toEqual([accessToken, h.peekToken(), h.peekToken()]);
  });

  it('aborts a send in flight when the connection drops, and drops its late result', async () => {
    const h = createHarness();
    const backend = fakeBackend();
    backend.answer = 'hold';
    const { statuses } = start(h, backend);
    const { accessToken } = h.signIn();
    await flush();
    const [held] = backend.sends;
    backend.transport$.next(false);
    expect(held?.signal.aborted).toBe(true);
    held?.resolve();
    await flush();
    expect(statuses.at(-1)).toBe('idle');
    backend.answer = 'ack';
    backend.transport$.next(true);
    await flush();
    expect(backend.sends.map((s) => s.token)).toEqual([accessToken, accessToken]);
    expect(statuses.at(-1)).toBe('synced');
  });

  it('never runs two sends at once: a newer token aborts the older send before its own starts', async () => {
    const h = createHarness();
    const backend = fakeBackend();
    backend.answer = 'hold';
    start(h, backend);
    const first = h.signIn();
    await flush();
    const second = h.issue();
    h.engine.signIn(second); // same session, newer token
    await flush();
    expect(backend.log).toEqual([`send ${first.accessToken}`, `abort ${first.accessToken}`, `send ${second.accessToken}`]);
    expect(backend.overlaps).toEqual([]);
  });

  it('retries a failed send with capped exponential backoff until it lands', async () => {
    const h = createHarness();
    const backend = fakeBackend();
    backend.answer = 'fail';
    const { statuses } = start(h, backend, { baseMs: 1_000, maxMs: 8_000 });
    h.signIn({ lifeSeconds: 3_600 });
    await flush();
    await vi.advanceTimersByTimeAsync(1_000 + 2_000 + 4_000 + 8_000 + 8_000);
    const gaps = backend.sends.slice(1).map((s, i) => s.at - (backend.sends[i] as Send).at);
    expect(gaps).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);
    expect(statuses).toContain('retrying');
    expect(statuses.at(-1)).toBe('retrying');

    backend.answer = 'ack';
    await vi.advanceTimersByTimeAsync(8_000);
    expect(backend.sends).toHaveLength(7);
    expect(statuses.at(-1)).toBe('synced');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(backend.sends).toHaveLength(7);
    expect(backend.overlaps).toEqual([]);
  });
});

describe('syncSession on sign-out and rotation', () => {
  it('aborts the send in flight, then calls clear() at once, and drops late acknowledgements', async () => {
    const h = createHarness();
    const backend = fakeBackend();
    backend.answer = 'hold';
    const { statuses } = start(h, backend);
    const { accessToken } = h.signIn();
    await flush();
    backend.transport$.next(false);
    backend.transport$.next(true);
    await flush();
    h.engine.signOut();
    // Synchronously, before any timer or promise has run.
    expect(backend.log.slice(-2)).toEqual([`abort ${accessToken}`, 'clear']);
    for (const send of backend.sends) send.resolve(); // late acknowledgements change nothing
    await flush();
    expect(backend.clears).toBe(1);

    backend.transport$.next(false);
    backend.transport$.next(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(backend.clears).toBe(1);
    expect(backend.sends).toHaveLength(2);
    expect(statuses.at(-1)).toBe('synced');
  });

  it('does not call clear() when it starts signed out, and clears while the transport is down', async () => {
    const h = createHarness();
    const backend = fakeBackend(false);
    start(h, backend);
    await flush();
    expect(backend.clears).toBe(0);
    h.signIn();
    await flush();
    expect(backend.sends).toHaveLength(0);
    h.engine.signOut();
    expect(backend.clears).toBe(1);
  });

  it('retries a failing clear() with backoff, and a new sign-in cancels the retries', async () => {
    const h = createHarness();
    const backend = fakeBackend();
    let failures = 2;
    const clear = vi.fn(() => (failures-- > 0 ? Promise.reject(new NetworkError()) : Promise.resolve()));
    const sync = syncSession(h.engine, { send: backend.send, clear, transport$: backend.transport$ });
    h.signIn();
    await flush();
    h.engine.signOut();
    expect(clear).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(clear).toHaveBeenCalledTimes(2);
    h.signIn({ sid: 's2' });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(clear).toHaveBeenCalledTimes(2);
    expect(backend.sends).toHaveLength(2);
    sync.stop();
  });

  it('a rotation aborts the old session send, drops its result and sends the new session token once', async () => {
    const h = createHarness();
    const backend = fakeBackend();
    backend.answer = 'hold';
    const { statuses } = start(h, backend);
    const old = h.signIn({ sid: 's1' });
    await flush();
    const [oldSend] = backend.sends;

    h.engine.rotate();
    expect(oldSend?.signal.aborted).toBe(true);
    oldSend?.resolve();
    await flush();
    expect(statuses.at(-1)).toBe('idle');
    expect(backend.clears).toBe(0);

    backend.answer = 'ack';
    const rotatedTo = h.lastCall();
    expect(rotatedTo.ctx.reason).toBe('rotated');
    const fresh = rotatedTo.respond({ sid: 's2' });
    await flush();
    expect(backend.sends.map((s) => s.token)).toEqual([old.accessToken, fresh.accessToken]);
    expect(statuses.at(-1)).toBe('synced');
  });

  it('stop() aborts the send in flight and sends nothing more', async () => {
    const h = createHarness();
    autoRefresh(h);
    const backend = fakeBackend();
    backend.answer = 'hold';
    const { sync } = start(h, backend);
    h.signIn();
    await flush();
    sync.stop();
    expect(backend.sends[0]?.signal.aborted).toBe(true);
    let completed = false;
    sync.status$.subscribe({ complete: () => (completed = true) });
    expect(completed).toBe(true);
    await vi.advanceTimersByTimeAsync(45_000 * 2);
    h.engine.signOut();
    expect(backend.sends).toHaveLength(1);
    expect(backend.clears).toBe(0);
  });
});
