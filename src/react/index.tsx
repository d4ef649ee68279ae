import { createContext, useCallback, useContext, type ReactNode } from 'react';
import { useSelector } from '@xstate/react';
import type { SessionEngine } from '../engine/engine.js';
import { SessionError } from '../errors.js';
import type { GetTokenOptions, SessionSnapshot } from '../types.js';

const SessionEngineContext = createContext<SessionEngine | null>(null);

export interface SessionProviderProps {
  engine: SessionEngine;
  children?: ReactNode;
}

/** Makes `engine` available to `useSession`, `useSessionEngine` and `useGetToken` below it. */
export function SessionProvider({ engine, children }: SessionProviderProps) {
  return <SessionEngineContext.Provider value={engine}>{children}</SessionEngineContext.Provider>;
}

/** The engine of the nearest `SessionProvider`; throws a `SessionError` (code `session`) outside one. */
export function useSessionEngine(): SessionEngine {
  const engine = useContext(SessionEngineContext);
  if (engine === null) {
    throw new SessionError('useSessionEngine, useSession and useGetToken must be used inside a <SessionProvider>');
  }
  return engine;
}

/**
 * The session snapshot, or the slice `selector` picks from it. The component re-renders only when the slice
 * changes by `Object.is` (without a selector: when a field of the snapshot changes, since `getSnapshot` keeps
 * the snapshot's identity until then), so a component that selects `sessionKey` does not re-render on refreshes.
 * It reads `engine.getSnapshot()`, a pure read, whenever the engine's actor moves.
 */
export function useSession(): SessionSnapshot;
export function useSession<T>(selector: (snapshot: SessionSnapshot) => T): T;
export function useSession<T>(selector?: (snapshot: SessionSnapshot) => T): T | SessionSnapshot {
  const engine = useSessionEngine();
  return useSelector(engine.actor, () => (selector ? selector(engine.getSnapshot()) : engine.getSnapshot()), Object.is);
}

/** `engine.getToken`, as a function whose identity stays the same while the provider's engine does. */
export function useGetToken(): (options?: GetTokenOptions) => Promise<string | null> {
  const engine = useSessionEngine();
  return useCallback((options?: GetTokenOptions) => engine.getToken(options), [engine]);
}
