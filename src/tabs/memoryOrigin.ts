import { pageClaims, type TabEnvironment, type TabStore } from './environment.js';

/**
 * One browser origin held in memory: K engines given `broadcast: { channel, environment: origin.tab() }` behave
 * as K tabs of one origin, in Node, in tests and in the benchmarks. Messages are structured-cloned and delivered
 * as microtasks, the lock queues its waiters in order, the store keeps copies: no timer or clock is involved.
 */
export interface MemoryOrigin {
  /** A new tab (page) of the origin: its own engines' channel claims, the origin's channels, lock and store. */
  tab(): TabEnvironment;
}

/** Web Locks: one holder per name, waiters in order; an aborted waiter leaves the queue. */
function memoryLocks() {
  const queues = new Map<string, Array<() => void>>();
  const release = (name: string) => {
    const queue = queues.get(name)!;
    queue.shift();
    queue[0]?.();
    if (queue.length === 0) queues.delete(name);
  };
  return <T>(name: string, signal: AbortSignal, task: (waited: boolean) => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const queue = queues.get(name) ?? [];
      queues.set(name, queue);
      const waited = queue.length > 0;
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        task(waited).then(resolve, reject).finally(() => release(name));
      };
      const onAbort = () => {
        const index = queue.indexOf(grant);
        if (index > 0) queue.splice(index, 1);
        reject(new DOMException('The lock request was aborted', 'AbortError'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      queue.push(grant);
      if (queue.length === 1) grant();
    });
}

function memoryStore(data: Map<string, unknown>): TabStore {
  return {
    get: async (key) => structuredClone(data.get(key)),
    set: async (key, value) => void data.set(key, structuredClone(value)),
    update: async (key, next) => void data.set(key, structuredClone(next(structuredClone(data.get(key))))),
    delete: async (key) => void data.delete(key),
  };
}

export function createMemoryOrigin(): MemoryOrigin {
  const channels = new Map<string, Set<(message: unknown) => void>>();
  const stores = new Map<string, Map<string, unknown>>();
  const lock = memoryLocks();
  return {
    tab: () => ({
      claim: pageClaims(new Set()),
      open(name, receive) {
        const peers = channels.get(name) ?? new Set();
        channels.set(name, peers);
        peers.add(receive);
        return {
          post(message) {
            for (const peer of peers) {
              if (peer === receive) continue;
              // Each receiver gets its own copy, as with structured clone between tabs.
              const copy = structuredClone(message);
              queueMicrotask(() => peer(copy));
            }
          },
          close: () => void peers.delete(receive),
        };
      },
      lock,
      store(name) {
        const data = stores.get(name) ?? new Map<string, unknown>();
        stores.set(name, data);
        return memoryStore(data);
      },
    }),
  };
}
