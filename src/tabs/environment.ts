import { createStore, del, get, set, update } from 'idb-keyval';
import { SessionError } from '../errors.js';

/**
 * What tabs of one origin share a session through, injectable like `online$`: a channel for messages, an
 * origin-wide lock and a store the next lock holder reads. The browser's BroadcastChannel, Web Locks and
 * IndexedDB by default; `createMemoryOrigin` (src/tabs/memoryOrigin.ts) holds one origin's in memory, for Node.
 */

export interface TabChannel {
  post(message: unknown): void;
  close(): void;
}

export interface TabStore {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  /** Replaces the value by `next(current)` in one step (one IndexedDB transaction): no other tab writes between. */
  update(key: string, next: (current: unknown) => unknown): Promise<void>;
  delete(key: string): Promise<void>;
}

/** One page's view of its origin. */
export interface TabEnvironment {
  /**
   * Reserves `channel` for one engine of this page, so two engines never adopt each other's session by accident:
   * throws a `SessionError` naming the channel while another live engine of the page holds it. Returns the release.
   */
  claim(channel: string): () => void;
  /** Opens the channel to the other tabs; `receive` gets each of their messages. */
  open(channel: string, receive: (message: unknown) => void): TabChannel;
  /**
   * Runs `task` holding the origin-wide lock `name`, told whether another tab held it first; the lock is
   * released when `task` settles (or with the tab). A `signal` that aborts before the lock is granted ends the wait.
   */
  lock<T>(name: string, signal: AbortSignal, task: (waited: boolean) => Promise<T>): Promise<T>;
  store(name: string): TabStore;
  /** Calls `handler` when the page is shown again from the back-forward cache (it missed the others' messages). */
  shown?(handler: () => void): () => void;
}

/** The engines of a page by the channel each uses; on globalThis so two copies of the package share it. */
export function pageClaims(registry: Set<string>) {
  return (channel: string): (() => void) => {
    if (registry.has(channel)) {
      throw new SessionError(
        `Another engine of this page already shares its session on the channel "${channel}": give each engine ` +
          'its own broadcast channel (or stop the other engine first)',
      );
    }
    registry.add(channel);
    return () => registry.delete(channel);
  };
}

const PAGE_REGISTRY = Symbol.for('sessionchart.channels');

function pageRegistry(): Set<string> {
  const holder = globalThis as { [PAGE_REGISTRY]?: Set<string> };
  holder[PAGE_REGISTRY] ??= new Set();
  return holder[PAGE_REGISTRY];
}

/** The browser's APIs, where all three exist (a worker or an old browser may lack one); else null. */
export function browserTabEnvironment(): TabEnvironment | null {
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
  if (typeof BroadcastChannel !== 'function' || typeof indexedDB === 'undefined' || typeof locks?.request !== 'function') {
    return null;
  }
  return {
    claim: pageClaims(pageRegistry()),
    open(name, receive) {
      const channel = new BroadcastChannel(name);
      channel.onmessage = (event: MessageEvent) => receive(event.data);
      return { post: (message) => channel.postMessage(message), close: () => channel.close() };
    },
    async lock<T>(name: string, signal: AbortSignal, task: (waited: boolean) => Promise<T>): Promise<T> {
      // The DOM typing does not unwrap the callback's promise; the browser does.
      const first = (await locks.request(name, { ifAvailable: true }, (lock) =>
        lock === null ? null : task(false).then((value) => ({ value })),
      )) as unknown as { value: T } | null;
      if (first !== null) return first.value;
      return locks.request(name, { signal }, () => task(true)) as unknown as Promise<T>;
    },
    store(name) {
      const idb = createStore(`sessionchart:${name}`, 'session');
      return {
        get: (key) => get(key, idb),
        set: (key, value) => set(key, value, idb),
        update: (key, next) => update(key, next, idb),
        delete: (key) => del(key, idb),
      };
    },
    shown(handler) {
      if (typeof window === 'undefined') return () => {};
      const listener = (event: Event) => (event as PageTransitionEvent).persisted && handler();
      window.addEventListener('pageshow', listener);
      return () => window.removeEventListener('pageshow', listener);
    },
  };
}
