import { vi } from 'vitest';

/**
 * The browser APIs `browserTabEnvironment()` looks for, stubbed on Node's globals: Node's own BroadcastChannel,
 * Web Locks that grant at once, and an IndexedDB in memory with just what idb-keyval uses (or one whose open
 * fails, as in a private mode). Requests settle as microtasks; no timer is involved.
 */

type Handler = (() => void) | null;

class Request<T = unknown> {
  result: T | undefined = undefined;
  error: unknown = null;
  onsuccess: Handler = null;
  onerror: Handler = null;
  onupgradeneeded: Handler = null;
  oncomplete: Handler = null;
  onabort: Handler = null;
}

/** An object store whose every operation is its own transaction, completed a microtask later. */
function memoryDatabase() {
  const data = new Map<unknown, unknown>();
  const transaction = () => {
    const tx = new Request();
    const done = <T>(result: T) => {
      const request = Object.assign(new Request<T>(), { transaction: tx });
      queueMicrotask(() => {
        request.result = result;
        request.onsuccess?.();
        tx.oncomplete?.();
      });
      return request;
    };
    const store = {
      get: (key: unknown) => done(structuredClone(data.get(key))),
      put: (value: unknown, key: unknown) => done(void data.set(key, structuredClone(value))),
      delete: (key: unknown) => done(void data.delete(key)),
      transaction: tx,
    };
    return Object.assign(tx, { objectStore: () => store });
  };
  return { createObjectStore: () => {}, transaction, onclose: null as Handler };
}

/** `indexedDB` with working databases, or (`failing`) one whose every open fails with a SecurityError. */
export function stubIndexedDB({ failing = false } = {}): void {
  const databases = new Map<string, ReturnType<typeof memoryDatabase>>();
  vi.stubGlobal('indexedDB', {
    open(name: string) {
      const request = new Request<ReturnType<typeof memoryDatabase>>();
      queueMicrotask(() => {
        if (failing) {
          request.error = new DOMException('The user denied permission to access the database', 'SecurityError');
          return request.onerror?.();
        }
        const fresh = !databases.has(name);
        if (fresh) databases.set(name, memoryDatabase());
        request.result = databases.get(name);
        if (fresh) request.onupgradeneeded?.();
        request.onsuccess?.();
      });
      return request;
    },
  });
}

/** Web Locks that grant every request at once (these tests never contend for them). */
export function stubWebLocks(): void {
  const request = async (_name: string, ...rest: unknown[]) => (rest.at(-1) as (lock: object) => unknown)({});
  vi.stubGlobal('navigator', { locks: { request } });
}

/** A page: `window`, working IndexedDB and Web Locks (Node has BroadcastChannel). */
export function stubBrowserPage({ window = true, failingIndexedDB = false } = {}): void {
  stubIndexedDB({ failing: failingIndexedDB });
  stubWebLocks();
  if (window) vi.stubGlobal('window', new EventTarget());
}
