import { BehaviorSubject, Subject } from 'rxjs';
import { afterEach, beforeEach, expect, vi } from 'vitest';
import { SessionError, createSessionEngine, type SessionEngine } from '../../src/index.js';
import type { SessionEngineOptions } from '../../src/types.js';
import type { TabEnvironment } from '../../src/tabs/environment.js';
import { createMemoryOrigin } from '../../src/tabs/memoryOrigin.js';
import { flushMicrotasks } from './invariantHarness.js';
import { TokenServer } from './tokenServer.js';

/**
 * K engines as K tabs of one in-memory origin (`createMemoryOrigin().tab()` each), one device (one `online$`,
 * one `resume$`), one token server (test/support/tokenServer.ts). Each tab's environment can be made to fail:
 * its store, its lock or its channel throwing or rejecting, from the start or from any moment on.
 */

export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
export const CHANNEL = 'origin-test';
const FAKED = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] as const;

/** Fake timers and Date from T0: installed before any engine starts, as RxJS timers need. */
export function useFakeClock(): void {
  vi.useFakeTimers({ toFake: [...FAKED] });
  vi.setSystemTime(T0);
}

export type Fault = 'none' | 'throw' | 'reject';

/** What fails in one tab's environment; change a field at any time to make it fail from then on. */
export interface Faults {
  store: Fault;
  lock: Fault;
  /** `throw`: opening and posting throw; `reject` is taken as `throw` (a channel has no promises). */
  channel: Fault;
}

const broken = (what: string) => new DOMException(`The ${what} is not available`, 'SecurityError');

/** Runs `op` unless `fault` says to throw at once or return a rejected promise. */
function faulty<T>(fault: () => Fault, what: string, op: () => Promise<T>): Promise<T> {
  if (fault() === 'throw') throw broken(what);
  if (fault() === 'reject') return Promise.reject(broken(what));
  return op();
}

/** `tab` with its store, lock and channel failing as `faults` says at the moment of each call. */
export function faultyTab(tab: TabEnvironment, faults: Faults): TabEnvironment {
  const channelFault = () => (faults.channel === 'none' ? 'none' : 'throw');
  return {
    claim: (channel) => tab.claim(channel),
    open(name, receive) {
      if (channelFault() !== 'none') throw broken('channel');
      // A failing channel delivers nothing either.
      const channel = tab.open(name, (message) => channelFault() === 'none' && receive(message));
      return {
        post(message) {
          if (channelFault() !== 'none') throw broken('channel');
          channel.post(message);
        },
        close() {
          channel.close();
          if (channelFault() !== 'none') throw broken('channel');
        },
      };
    },
    lock: (name, signal, task) => faulty(() => faults.lock, 'lock', () => tab.lock(name, signal, task)),
    store(name) {
      const store = tab.store(name);
      return {
        get: (key) => faulty(() => faults.store, 'store', () => store.get(key)),
        set: (key, value) => faulty(() => faults.store, 'store', () => store.set(key, value)),
        delete: (key) => faulty(() => faults.store, 'store', () => store.delete(key)),
      };
    },
  };
}

export interface Tab {
  readonly index: number;
  /** 'origin' for the tabs that share the session; a tab opened with a fault keeps to itself, a group of one. */
  readonly group: string;
  readonly engine: SessionEngine;
  readonly faults: Faults;
  /** What went to this engine's `onError`. */
  readonly errors: unknown[];
}

export interface OriginOptions {
  lifeS?: number;
  engine?: Partial<Omit<SessionEngineOptions, 'refresh' | 'broadcast' | 'online$' | 'resume$' | 'onError'>>;
}

export class TabOrigin {
  readonly origin = createMemoryOrigin();
  readonly server: TokenServer;
  readonly online$ = new BehaviorSubject(true);
  readonly resume$ = new Subject<void>();
  readonly tabs: Tab[] = [];
  /** Tabs stopped by the test: they are out of the checks. */
  private readonly stopped = new Set<Tab>();

  constructor(private readonly options: OriginOptions = {}) {
    this.server = new TokenServer(options.lifeS ?? 60);
    this.server.holders = () => this.live().map((tab) => this.held(tab));
  }

  /** A new tab (a page of its own) with an engine on the shared channel; `wrap` may add to its environment. */
  open(faults: Partial<Faults> = {}, wrap = (tab: TabEnvironment) => tab): Tab {
    const index = this.tabs.length;
    const tabFaults: Faults = { store: 'none', lock: 'none', channel: 'none', ...faults };
    const errors: unknown[] = [];
    const group = Object.values(tabFaults).some((fault) => fault !== 'none') ? `tab ${index}` : 'origin';
    const engine = createSessionEngine({
      ...this.options.engine,
      refresh: this.server.refreshFor(index, group),
      broadcast: { channel: CHANNEL, environment: wrap(faultyTab(this.origin.tab(), tabFaults)) },
      online$: this.online$,
      resume$: this.resume$,
      onError: (error) => errors.push(error),
    });
    const tab: Tab = { index, group, engine, faults: tabFaults, errors };
    engine.token$.subscribe((token) => this.server.checkServed(token, `tab ${index} token$`));
    this.tabs.push(tab);
    return tab;
  }

  /** K tabs, past their wait for other tabs (300 ms). */
  async openTabs(count: number, faults: Partial<Faults> = {}): Promise<Tab[]> {
    const opened = Array.from({ length: count }, () => this.open(faults));
    await this.advance(1_000);
    return opened;
  }

  live(): Tab[] {
    return this.tabs.filter((tab) => !this.stopped.has(tab));
  }

  stop(tab: Tab): void {
    this.stopped.add(tab);
    tab.engine.stop();
  }

  async advance(ms: number): Promise<void> {
    await vi.advanceTimersByTimeAsync(ms);
    await flushMicrotasks();
  }

  /** Signs `tab` in with a new session from the server. */
  async signIn(tab: Tab): Promise<void> {
    const before = this.held(tab);
    if (before.accessToken || before.refreshToken) this.server.kill(before);
    tab.engine.signIn(this.server.signIn());
    await flushMicrotasks();
  }

  async signOut(tab: Tab): Promise<void> {
    this.server.kill(this.held(tab));
    tab.engine.signOut();
    await flushMicrotasks();
  }

  async rotate(tab: Tab): Promise<void> {
    this.server.kill(this.held(tab), true);
    tab.engine.rotate();
    await flushMicrotasks();
  }

  /** `getToken` of `tab`, its answer checked by the server; a rejection is returned as the error's code. */
  async getToken(tab: Tab, forceRefresh = false): Promise<string | null | { error: unknown }> {
    try {
      const token = await tab.engine.getToken(forceRefresh ? { forceRefresh } : undefined);
      this.server.checkServed(token, `tab ${tab.index} getToken`);
      return token;
    } catch (error) {
      return { error: (error as { code?: unknown }).code ?? error };
    }
  }

  /** The tokens `tab`'s machine holds. */
  held(tab: Tab): { accessToken?: string; refreshToken?: string } {
    const { token, refreshToken } = tab.engine.actor.getSnapshot().context;
    return { accessToken: token?.accessToken, refreshToken };
  }

  status(tab: Tab): string {
    return tab.engine.getSnapshot().status;
  }

  /** Peeks every live tab, each answer checked by the server. */
  peekAll(): Array<string | null> {
    return this.live().map((tab) => {
      const token = tab.engine.peekToken();
      this.server.checkServed(token, `tab ${tab.index} peekToken`);
      return token;
    });
  }

  /** Everything that went to any `onError` that is not a SessionError. */
  untypedErrors(): unknown[] {
    return this.tabs.flatMap((tab) => tab.errors.filter((error) => !(error instanceof SessionError)));
  }

  close(): void {
    for (const tab of this.live()) tab.engine.stop();
  }
}

/**
 * A new origin for each test of the file, on the fake clock. After each test the server must have seen no
 * violation (and `alsoCheck` passes), then every engine stops and the real timers come back. Returns the origin
 * of the test running.
 */
export function useTabOrigin(alsoCheck: (world: TabOrigin) => void = () => {}): () => TabOrigin {
  let world: TabOrigin;
  beforeEach(() => {
    useFakeClock();
    world = new TabOrigin();
  });
  afterEach(() => {
    try {
      expect(world.server.violations).toEqual([]);
      alsoCheck(world);
    } finally {
      world.close();
      vi.useRealTimers();
    }
  });
  return () => world;
}
