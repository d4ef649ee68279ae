/**
 * One browser origin inside this Node process: the three APIs the engine's tab sync needs
 * (BroadcastChannel, IndexedDB, Web Locks), kept in memory so K engines with `broadcast` on behave as K
 * tabs of one origin. The engine's own tab code (src/tabs/tabSync.ts, idb-keyval) runs unchanged on top.
 * Messages and IndexedDB callbacks are delivered as microtasks: no timer or clock is involved.
 */

type Handler = ((this: unknown, event: unknown) => void) | null;

class MemoryBroadcastChannel {
  static open = new Map<string, Set<MemoryBroadcastChannel>>();
  onmessage: ((event: { data: unknown }) => void) | null = null;

  constructor(readonly name: string) {
    const peers = MemoryBroadcastChannel.open.get(name) ?? new Set();
    peers.add(this);
    MemoryBroadcastChannel.open.set(name, peers);
  }

  postMessage(data: unknown): void {
    for (const peer of MemoryBroadcastChannel.open.get(this.name) ?? []) {
      if (peer === this) continue;
      // Each receiver gets its own copy, as with structured clone between tabs.
      const copy = structuredClone(data);
      queueMicrotask(() => peer.onmessage?.({ data: copy }));
    }
  }

  close(): void {
    MemoryBroadcastChannel.open.get(this.name)?.delete(this);
  }
}

/** An IDBRequest: `result` plus the handlers idb-keyval assigns. */
class MemoryRequest {
  result: unknown = undefined;
  error: unknown = null;
  onsuccess: Handler = null;
  oncomplete: Handler = null;
  onerror: Handler = null;
  onabort: Handler = null;
  onupgradeneeded: Handler = null;
  constructor(readonly transaction: MemoryTransaction | null = null) {}
}

/** Transactions of one database run one after another, so `update` (get then put) is atomic. */
class MemoryDatabase {
  readonly stores = new Map<string, Map<unknown, unknown>>();
  private queue: MemoryTransaction[] = [];
  onclose: Handler = null;

  createObjectStore(name: string): void {
    this.stores.set(name, new Map());
  }

  transaction(storeName: string): MemoryTransaction {
    const transaction = new MemoryTransaction(this.stores.get(storeName)!, () => this.next());
    this.queue.push(transaction);
    if (this.queue.length === 1) queueMicrotask(() => transaction.start());
    return transaction;
  }

  private next(): void {
    this.queue.shift();
    const following = this.queue[0];
    if (following) queueMicrotask(() => following.start());
  }
}

class MemoryTransaction {
  private readonly operations: Array<() => void> = [];
  oncomplete: Handler = null;
  onabort: Handler = null;
  onerror: Handler = null;

  constructor(
    private readonly data: Map<unknown, unknown>,
    private readonly done: () => void,
  ) {}

  objectStore(): MemoryObjectStore {
    return new MemoryObjectStore(this);
  }

  enqueue(operation: (data: Map<unknown, unknown>) => unknown): MemoryRequest {
    const request = new MemoryRequest(this);
    this.operations.push(() => {
      request.result = operation(this.data);
      request.onsuccess?.call(request, { target: request });
    });
    return request;
  }

  /** Runs the requests in order; requests added by a success handler join this transaction. */
  start(): void {
    const operation = this.operations.shift();
    if (operation) {
      operation();
      queueMicrotask(() => this.start());
      return;
    }
    queueMicrotask(() => {
      this.oncomplete?.call(this, { target: this });
      this.done();
    });
  }
}

class MemoryObjectStore {
  constructor(readonly transaction: MemoryTransaction) {}
  get(key: unknown) {
    return this.transaction.enqueue((data) => data.get(key));
  }
  put(value: unknown, key: unknown) {
    return this.transaction.enqueue((data) => void data.set(key, value));
  }
  delete(key: unknown) {
    return this.transaction.enqueue((data) => void data.delete(key));
  }
}

function memoryIndexedDB() {
  const databases = new Map<string, MemoryDatabase>();
  return {
    open(name: string) {
      const request = new MemoryRequest();
      queueMicrotask(() => {
        let database = databases.get(name);
        if (!database) {
          database = new MemoryDatabase();
          databases.set(name, database);
          request.result = database;
          request.onupgradeneeded?.call(request, { target: request });
        }
        request.result = database;
        request.onsuccess?.call(request, { target: request });
      });
      return request;
    },
  };
}

/** Web Locks: one holder per name, FIFO waiters; an aborted waiter leaves the queue. */
function memoryLocks() {
  const queues = new Map<string, Array<() => void>>();
  const release = (name: string) => {
    const queue = queues.get(name)!;
    queue.shift();
    queue[0]?.();
    if (queue.length === 0) queues.delete(name);
  };
  return {
    request<T>(name: string, options: { signal?: AbortSignal }, task: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const queue = queues.get(name) ?? [];
        queues.set(name, queue);
        const grant = () => {
          options.signal?.removeEventListener('abort', onAbort);
          task().then(resolve, reject).finally(() => release(name));
        };
        const onAbort = () => {
          const index = queue.indexOf(grant);
          if (index > 0) queue.splice(index, 1);
          reject(new DOMException('The lock request was aborted', 'AbortError'));
        };
        if (options.signal?.aborted) return onAbort();
        options.signal?.addEventListener('abort', onAbort, { once: true });
        queue.push(grant);
        if (queue.length === 1) grant();
      });
    },
  };
}

const GLOBALS = ['BroadcastChannel', 'indexedDB', 'navigator'] as const;

/** Installs a fresh origin on globalThis; the returned function puts the previous globals back. */
export function installOrigin(): () => void {
  const saved = GLOBALS.map((name) => Object.getOwnPropertyDescriptor(globalThis, name));
  const navigator = { ...(globalThis as { navigator?: object }).navigator, locks: memoryLocks(), onLine: true };
  const define = (name: string, value: unknown) =>
    Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  MemoryBroadcastChannel.open = new Map();
  define('BroadcastChannel', MemoryBroadcastChannel);
  define('indexedDB', memoryIndexedDB());
  define('navigator', navigator);
  return () =>
    GLOBALS.forEach((name, index) => {
      const descriptor = saved[index];
      if (descriptor) Object.defineProperty(globalThis, name, descriptor);
      else delete (globalThis as Record<string, unknown>)[name];
    });
}
