import { createBrowserInspector, createWebSocketInspector } from '@statelyai/inspect';
import { toObserver, type InspectionEvent, type Observer } from 'xstate';
import { createRedactor, type RedactOptions } from './redact.js';

export { tokenFingerprint, type RedactedToken, type RedactOptions } from './redact.js';

/** What `createSessionEngine({ inspect })` and xstate's `createActor(..., { inspect })` take. */
export type InspectObserver = Observer<InspectionEvent> | ((event: InspectionEvent) => void);

/**
 * Wraps an inspection observer so that it only ever sees copies of the inspection events with every access
 * and refresh token (fields `accessToken`, `refreshToken` anywhere, and any JWT-shaped string) replaced by a
 * `RedactedToken`. Actor references in the events are views that redact their snapshots too.
 */
export function redactInspection(observer: InspectObserver, options?: RedactOptions): Observer<InspectionEvent> {
  const target = toObserver(observer);
  const redact = createRedactor(options);
  return {
    next: (event) => target.next?.(redact(event) as InspectionEvent),
    error: (error) => target.error?.(redact(error)),
    complete: () => target.complete?.(),
  };
}

/** `value` with every session secret replaced, for logs and debugging output; `value` itself is untouched. */
export function redactSecrets(value: unknown, options?: RedactOptions): unknown {
  return createRedactor(options)(value);
}

interface CommonInspectorOptions extends RedactOptions {
  /** Default true. `false` shows the tokens themselves: only for a local inspector you trust. */
  redact?: boolean;
  /** Default true: open the inspector window or connect the socket at once. */
  autoStart?: boolean;
}

export interface BrowserSessionInspectorOptions extends CommonInspectorOptions {
  kind: 'browser';
  /** The inspector page; default https://stately.ai/inspect. */
  url?: string;
  /** Default: the global window. Without one (server rendering, Node) the inspector is inert. */
  window?: Window;
  /** Show the inspector in this iframe instead of a new window. */
  iframe?: HTMLIFrameElement | null;
}

export interface WebSocketSessionInspectorOptions extends CommonInspectorOptions {
  kind: 'websocket';
  /** The inspector server (`createInspectorServer` of `@statelyai/inspect/server`); default ws://localhost:8080. */
  url?: string;
}

export type SessionInspectorOptions = BrowserSessionInspectorOptions | WebSocketSessionInspectorOptions;

export interface SessionInspector {
  /** Pass to `createSessionEngine({ inspect })`. */
  readonly inspect: Observer<InspectionEvent>;
  start(): void;
  stop(): void;
}

/** Drops the keys left undefined: the Stately inspector spreads its options over its defaults. */
const definedOnly = <T extends object>(options: T): Partial<T> =>
  Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;

const inertInspector: SessionInspector = { inspect: { next: () => {} }, start: () => {}, stop: () => {} };

/**
 * Connects an engine to the Stately inspector, in a browser window (`kind: 'browser'`) or through the local
 * inspector server over a WebSocket (`kind: 'websocket'`), with every token redacted unless `redact: false`:
 *
 * ```ts
 * const inspector = createSessionInspector({ kind: 'websocket' });
 * const engine = createSessionEngine({ refresh, inspect: inspector.inspect });
 * ```
 */
export function createSessionInspector(options: SessionInspectorOptions): SessionInspector {
  const { url, autoStart } = options;
  let inspector: ReturnType<typeof createWebSocketInspector> | ReturnType<typeof createBrowserInspector>;
  if (options.kind === 'websocket') {
    inspector = createWebSocketInspector({ ...definedOnly({ autoStart }), url: url ?? 'ws://localhost:8080' });
  } else {
    const window = options.window ?? globalThis.window;
    if (window === undefined) return inertInspector;
    inspector = createBrowserInspector({ ...definedOnly({ url, autoStart, iframe: options.iframe }), window });
  }
  return {
    inspect: options.redact === false ? inspector.inspect : redactInspection(inspector.inspect, options),
    start: () => inspector.start(),
    stop: () => inspector.stop(),
  };
}
