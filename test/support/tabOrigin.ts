import { BehaviorSubject, Subject } from 'rxjs';
import { afterEach, beforeEach, expect, vi } from 'vitest';
import { SessionError, createSessionEngine, type SessionEngine } from '../../src/index.js';
import type { SessionEngineOptions } from '../../src/types.js';
import type { TabEnvironment } from '../../src/tabs/environment.js';
import {
  T0,
  checkInvariants,
  createMemoryOrigin,
  createTokenServer,
  flushPromises,
  type InvariantChecker,
  type TokenRequest,
  type TokenServer,
} from '../../src/testing/index.js';

/**
 * K engines as K tabs of one in-memory origin (`createMemoryOrigin().tab()` each), one device (one `online$`,
 * one `resume$`), one token server (sessionchart/testing's, its rules applied to every request) and the invariant
 * checker watching every tab. Each tab's environment can be made to fail: its store, its lock or its channel
 * throwing or rejecting, from the start or from any moment on.
 */

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
        update: (key, next) => faulty(() => faults.store, 'store', () => store.update(key, next)),
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

const nameOf = (index: number) => `tab ${index}`;

export class TabOrigin {
  readonly origin = createMemoryOrigin();
  readonly server: TokenServer;
  readonly checker: InvariantChecker;
  readonly online$ = new BehaviorSubject(true);
  readonly resume$ = new Subject<void>();
  readonly tabs: Tab[] = [];
  /** Tabs stopped by the test: they are out of the checks. */
  private readonly stopped = new Set<Tab>();
  /** Each tab's request group (its name as its requests' client): the tabs that share one lock. */
  private readonly groups = new Map<string, string>();
  /** How far the wall clock moved with no timer run (sleeps, answers' 1 ms, less set-backs): timers run by the rest. */
  private timerLagMs = 0;

  constructor(private readonly options: OriginOptions = {}) {
    this.server = createTokenServer({ lifeSeconds: options.lifeS ?? 60 });
    // A network takes time: each answer is issued 1 ms after the request reached the server, so two answers of
    // one session never share a millisecond, which the tabs could not order. A held request moves it in `release`.
    this.server.subscribe((event) => {
      if (event.type === 'request' && event.request.state === 'sent') this.answerLater();
    });
    this.checker = checkInvariants([], this.server, {
      refreshTimeoutMs: options.engine?.refreshTimeoutMs,
      timerNow: () => Date.now() - this.timerLagMs,
      groupOf: (request) => this.groups.get(request.client) ?? request.client,
    });
  }

  /**
   * A new tab (a page of its own) with an engine on the shared channel; `wrap` may add to its environment, and
   * `options` to the origin's engine options (a `storage` of this page's own).
   */
  open(faults: Partial<Faults> = {}, wrap = (tab: TabEnvironment) => tab, options: OriginOptions['engine'] = {}): Tab {
    const index = this.tabs.length;
    const tabFaults: Faults = { store: 'none', lock: 'none', channel: 'none', ...faults };
    const errors: unknown[] = [];
    const group = Object.values(tabFaults).some((fault) => fault !== 'none') ? nameOf(index) : 'origin';
    const engine = createSessionEngine({
      ...this.options.engine,
      ...options,
      refresh: this.server.refreshFor(nameOf(index)),
      broadcast: { channel: CHANNEL, environment: wrap(faultyTab(this.origin.tab(), tabFaults)) },
      online$: this.online$,
      resume$: this.resume$,
      onError: (error) => errors.push(error),
    });
    this.groups.set(nameOf(index), group);
    this.checker.watch(engine, nameOf(index));
    const tab: Tab = { index, group, engine, faults: tabFaults, errors };
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
    await flushPromises();
  }

  /** Lets a held request reach the server, which answers it 1 ms later by its rules. */
  release(request: TokenRequest): void {
    this.answerLater();
    request.release();
  }

  /** Signs `tab` in with a new session from the server. */
  async signIn(tab: Tab): Promise<void> {
    tab.engine.signIn(this.server.signIn());
    await flushPromises();
  }

  async signOut(tab: Tab): Promise<void> {
    tab.engine.signOut();
    await flushPromises();
  }

  /** A rotation: the server gives the session a new key, which the rotation's answer brings. */
  async rotate(tab: Tab): Promise<void> {
    const sessionKey = tab.engine.getSnapshot().sessionKey;
    if (sessionKey !== null && this.server.session(sessionKey)) this.server.rotateSession(sessionKey);
    tab.engine.rotate();
    await flushPromises();
  }

  /**
   * A rotation while a refresh of `tab` is out: a forced refresh held at the server, `rotate()` meanwhile (which
   * withdraws it), then its answer let through.
   */
  async rotateWhileRefreshOut(tab: Tab): Promise<void> {
    this.server.holdRequests();
    void this.getToken(tab, true);
    await this.advance(1);
    expect(this.server.inFlight()).toHaveLength(1);
    await this.rotate(tab);
    this.server.holdRequests(false);
    this.release(this.server.inFlight()[0]!);
    await this.advance(10);
  }

  /** `getToken` of `tab` (the checker judges its answer); a rejection is returned as the error's code. */
  async getToken(tab: Tab, forceRefresh = false): Promise<string | null | { error: unknown }> {
    try {
      return await tab.engine.getToken(forceRefresh ? { forceRefresh } : undefined);
    } catch (error) {
      return { error: (error as { code?: unknown }).code ?? error };
    }
  }

  /** The session key the server gave `accessToken` (after a rotation, the new one). */
  sidOf(accessToken: string): string | undefined {
    return this.server.issued(accessToken)?.session.sid;
  }

  status(tab: Tab): string {
    return tab.engine.getSnapshot().status;
  }

  /** Peeks every live tab (the checker judges each answer). */
  peekAll(): Array<string | null> {
    return this.live().map((tab) => tab.engine.peekToken());
  }

  /**
   * What the checker saw, but a replay of a refresh token of a session no tab holds any more (the tabs moved on
   * to a later sign-in while a request of the old one waited for the lock): the server revokes a session nobody
   * uses. A known gap of the protocol (see docs/testing.md), counted apart by `abandonedReplays`.
   */
  violations(): string[] {
    return this.checker.violations
      .filter((violation) => !violation.sessionLeft)
      .map(({ invariant, event, message }) => `${invariant} (${event}): ${message}`);
  }

  abandonedReplays(): number {
    return this.checker.violations.filter((violation) => violation.sessionLeft).length;
  }

  /** Everything that went to any `onError` that is not a SessionError. */
  untypedErrors(): unknown[] {
    return this.tabs.flatMap((tab) => tab.errors.filter((error) => !(error instanceof SessionError)));
  }

  close(): void {
    for (const tab of this.live()) tab.engine.stop();
    this.checker.stop();
  }

  /** Laptop sleep: the clock jumps, no timer runs. */
  sleep(ms: number): void {
    this.timerLagMs += ms;
    vi.setSystemTime(Date.now() + ms);
  }

  /** The wall clock is set back; the server's is not (its clock runs ahead by as much), and no timer moves. */
  setClockBack(ms: number): void {
    this.timerLagMs -= ms;
    this.server.skewMs += ms;
    vi.setSystemTime(Date.now() - ms);
  }

  private answerLater(): void {
    this.sleep(1);
  }
}

/**
 * A new origin for each test of the file, on the fake clock. After each test the checker must have seen no
 * violation (and `alsoCheck` passes), then every engine stops and the real timers come back. Returns the origin
 * of the test running.
 */
export function useTabOrigin(alsoCheck: (world: TabOrigin) => void = () => {}, options?: OriginOptions): () => TabOrigin {
  let world: TabOrigin;
  beforeEach(() => {
    useFakeClock();
    world = new TabOrigin(options);
  });
  afterEach(() => {
    try {
      expect(world.violations()).toEqual([]);
      alsoCheck(world);
    } finally {
      world.close();
      vi.useRealTimers();
    }
  });
  return () => world;
}
