import { afterEach, describe, expect, it, vi } from 'vitest';
import { browserTabEnvironment, type TabEnvironment } from '../../src/tabs/environment.js';
import { createMemoryOrigin } from '../../src/tabs/memoryOrigin.js';
import { stubBrowserPage } from '../support/browserGlobals.js';
import { flushPromises } from '../../src/testing/index.js';

/**
 * The two tab environments on their own: the in-memory origin (tests and the benchmarks) and the browser's
 * (BroadcastChannel, Web Locks and IndexedDB, stubbed where Node has none).
 */

afterEach(() => vi.unstubAllGlobals());

const never = new AbortController().signal;

/** A deferred task for a lock: resolves when `finish` is called; records whether another tab held the lock first. */
function task(log: string[], name: string) {
  let finish = () => {};
  const run = (waited: boolean) => {
    log.push(`${name} granted${waited ? ' after waiting' : ''}`);
    return new Promise<string>((resolve) => (finish = () => resolve(name)));
  };
  return { run, finish: () => finish() };
}

describe('the in-memory origin', () => {
  it('grants its lock to one holder at a time, in order, saying who waited', async () => {
    const lock = createMemoryOrigin().tab().lock;
    const log: string[] = [];
    const [a, b, c] = [task(log, 'a'), task(log, 'b'), task(log, 'c')];
    const results = [lock('l', never, a.run), lock('l', never, b.run), lock('l', never, c.run)];
    await flushPromises();
    expect(log).toEqual(['a granted']);
    a.finish();
    await flushPromises();
    expect(log).toEqual(['a granted', 'b granted after waiting']);
    b.finish();
    await flushPromises();
    c.finish();
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c']);
    // Free again: the next holder did not wait.
    const d = task(log, 'd');
    const done = lock('l', never, d.run);
    await flushPromises();
    expect(log.at(-1)).toBe('d granted');
    d.finish();
    await done;
  });

  it('lets a waiter that aborts leave the queue, and refuses one aborted before it asks', async () => {
    const lock = createMemoryOrigin().tab().lock;
    const log: string[] = [];
    const [a, b, c] = [task(log, 'a'), task(log, 'b'), task(log, 'c')];
    const leaving = new AbortController();
    const first = lock('l', never, a.run);
    const quitter = lock('l', leaving.signal, b.run);
    const last = lock('l', never, c.run);
    leaving.abort();
    await expect(quitter).rejects.toMatchObject({ name: 'AbortError' });
    a.finish();
    await first;
    await flushPromises();
    expect(log).toEqual(['a granted', 'c granted after waiting']);
    c.finish();
    await last;
    const aborted = new AbortController();
    aborted.abort();
    await expect(lock('l', aborted.signal, b.run)).rejects.toMatchObject({ name: 'AbortError' });
    expect(log).toEqual(['a granted', 'c granted after waiting']);
  });

  it('keeps the queue of the others when a request aborted before it asks is refused', async () => {
    const lock = createMemoryOrigin().tab().lock;
    const log: string[] = [];
    const [a, b] = [task(log, 'a'), task(log, 'b')];
    const first = lock('l', never, a.run);
    const waiting = lock('l', never, b.run);
    const aborted = new AbortController();
    aborted.abort();
    await expect(lock('l', aborted.signal, async () => 'never')).rejects.toMatchObject({ name: 'AbortError' });
    a.finish();
    await first;
    await flushPromises();
    expect(log).toEqual(['a granted', 'b granted after waiting']);
    b.finish();
    expect(await waiting).toBe('b');
  });

  it("settles a holder's request with its task's result even when its signal aborts after the grant", async () => {
    const lock = createMemoryOrigin().tab().lock;
    const log: string[] = [];
    const a = task(log, 'a');
    const controller = new AbortController();
    const held = lock('l', controller.signal, a.run);
    await flushPromises();
    expect(log).toEqual(['a granted']);
    controller.abort();
    a.finish();
    expect(await held).toBe('a');
  });

  it("delivers a tab's messages to the other tabs as copies, never back to it, and not after close", async () => {
    const origin = createMemoryOrigin();
    const heard: Record<string, unknown[]> = { a: [], b: [], c: [] };
    const [a, b, c] = (['a', 'b', 'c'] as const).map((name) => origin.tab().open('ch', (m) => heard[name]!.push(m)));
    const message = { n: 1 };
    a!.post(message);
    message.n = 2;
    await flushPromises();
    expect(heard).toEqual({ a: [], b: [{ n: 1 }], c: [{ n: 1 }] });
    (heard.b![0] as { n: number }).n = 3;
    expect(heard.c).toEqual([{ n: 1 }]);
    c!.close();
    b!.post('bye');
    await flushPromises();
    expect(heard).toEqual({ a: ['bye'], b: [{ n: 3 }], c: [{ n: 1 }] });
  });

  it("keeps copies in one store per name, shared by the origin's tabs", async () => {
    const origin = createMemoryOrigin();
    const [mine, theirs, other] = [origin.tab().store('s'), origin.tab().store('s'), origin.tab().store('t')];
    const value = { n: 1 };
    await mine.set('k', value);
    value.n = 2;
    expect(await theirs.get('k')).toEqual({ n: 1 });
    expect(await other.get('k')).toBeUndefined();
    await theirs.delete('k');
    expect(await mine.get('k')).toBeUndefined();
  });

  it('updates a value in one step from what it holds then, with no write of another tab between', async () => {
    const origin = createMemoryOrigin();
    const [mine, theirs] = [origin.tab().store('s'), origin.tab().store('s')];
    await mine.set('k', { n: 1 });
    // Two tabs update at once: each sees the other's result, so neither increment is lost.
    const increment = (current: unknown) => ({ n: (current as { n: number }).n + 1 });
    await Promise.all([mine.update('k', increment), theirs.update('k', increment)]);
    expect(await mine.get('k')).toEqual({ n: 3 });
    await mine.update('new', (current) => ({ was: current ?? 'nothing' }));
    expect(await theirs.get('new')).toEqual({ was: 'nothing' });
  });
});

describe("the browser's environment", () => {
  function page(): TabEnvironment {
    stubBrowserPage();
    return browserTabEnvironment()!;
  }

  it('runs a task under a free lock at once, or after waiting for the tab that holds it', async () => {
    stubBrowserPage();
    let held = false;
    const request = vi.fn(async (_name: string, options: { ifAvailable?: boolean }, callback: (lock: object | null) => unknown) =>
      callback(options.ifAvailable && held ? null : {}),
    );
    vi.stubGlobal('navigator', { locks: { request } });
    const free = browserTabEnvironment()!;
    expect(await free.lock('l', never, async (waited) => `waited ${waited}`)).toBe('waited false');
    held = true;
    expect(await free.lock('l', never, async (waited) => `waited ${waited}`)).toBe('waited true');
    expect(request.mock.calls.map(([name, options]) => [name, options])).toEqual([
      ['l', { ifAvailable: true }],
      ['l', { ifAvailable: true }],
      ['l', { signal: never }],
    ]);
  });

  it('keeps values in IndexedDB, one database per store name', async () => {
    const env = page();
    const store = env.store('s');
    await store.set('k', { n: 1 });
    expect(await store.get('k')).toEqual({ n: 1 });
    expect(await env.store('t').get('k')).toBeUndefined();
    await store.delete('k');
    expect(await store.get('k')).toBeUndefined();
    await store.update('k', (current) => ({ was: current ?? 'nothing' }));
    await store.update('k', (current) => ({ was: current }));
    expect(await store.get('k')).toEqual({ was: { was: 'nothing' } });
  });

  it('talks over a BroadcastChannel of that name', async () => {
    const env = page();
    const other = new BroadcastChannel('env-test');
    const theirs = new Promise((resolve) => (other.onmessage = (event) => resolve(event.data)));
    const mine = new Promise((resolve) => {
      const channel = env.open('env-test', (message) => {
        resolve(message);
        channel.close();
      });
      channel.post({ from: 'me' });
    });
    expect(await theirs).toEqual({ from: 'me' });
    other.postMessage({ from: 'them' });
    expect(await mine).toEqual({ from: 'them' });
    other.close();
  });

  it('hears nothing more on a channel it closed', async () => {
    const env = page();
    const heard: unknown[] = [];
    const channel = env.open('env-closed', (message) => heard.push(message));
    const other = new BroadcastChannel('env-closed');
    const probe = new BroadcastChannel('env-closed');
    const delivered = () => new Promise((resolve) => (probe.onmessage = resolve));
    other.postMessage('before');
    await delivered();
    await new Promise((resolve) => setTimeout(resolve, 10));
    channel.close();
    other.postMessage('after');
    await delivered();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(heard).toEqual(['before']);
    other.close();
    probe.close();
  });

  it('calls back when the page is shown again from the back-forward cache, until unsubscribed', () => {
    const env = page();
    const shown = vi.fn();
    const stop = env.shown!(shown);
    const pageshow = (persisted: boolean) => window.dispatchEvent(Object.assign(new Event('pageshow'), { persisted }));
    pageshow(false);
    expect(shown).not.toHaveBeenCalled();
    pageshow(true);
    expect(shown).toHaveBeenCalledTimes(1);
    stop();
    pageshow(true);
    expect(shown).toHaveBeenCalledTimes(1);
  });

  it('in a worker (the three APIs, no window) watches no page, and its stop has nothing to undo', () => {
    const env = page();
    vi.stubGlobal('window', undefined);
    const shown = vi.fn();
    const stop = env.shown!(shown);
    expect(stop).not.toThrow();
    expect(shown).not.toHaveBeenCalled();
  });

  it("keeps the page's engines by channel on globalThis, where another copy of the package finds them", () => {
    const env = page();
    const release = env.claim('shared');
    const registry = (globalThis as Record<symbol, Set<string>>)[Symbol.for('sessionchart.channels')];
    expect(registry?.has('shared')).toBe(true);
    expect(() => env.claim('shared')).toThrow(/"shared".*its own broadcast channel/);
    release();
    expect(registry?.has('shared')).toBe(false);
  });
});
