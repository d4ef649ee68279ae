import { createContext, useCallback, useContext, useEffect, type ReactNode } from 'react';
import { useSelector } from '@xstate/react';
import { statusOf, type SessionEngine } from '../engine/engine.js';
import { SessionError } from '../errors.js';
import type { GetTokenOptions, SessionSnapshot } from '../types.js';

type MachineSnapshot = ReturnType<SessionEngine['actor']['getSnapshot']>;

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
 * The engine's public snapshot fields, read from the machine snapshot.
 *
 * Why not `engine.getSnapshot()` as the store's getter: it sends the machine a clock check, and React calls the
 * getter during render (twice in development, again for every concurrent render). Reading the actor's snapshot
 * through `@xstate/react`'s `useSelector` is a pure read. The price: a component renders the state the machine
 * is in, which after a sleep may say `fresh` until the machine hears of the time; the engine's `resume$`
 * (visibilitychange/focus/pageshow) and its timers move it on, `getToken` checks the clock itself, and
 * `useSession` asks the engine for a clock check once mounted (an effect, outside render).
 */
function toSessionSnapshot(machine: MachineSnapshot): SessionSnapshot {
  const { session, token, error, lastRefreshAt } = machine.context;
  return {
    status: statusOf(machine),
    sessionKey: session?.sessionKey ?? null,
    expiresAt: token?.expiresAt ?? null,
    error,
    lastRefreshAt,
  };
}

const sameSnapshot = (a: SessionSnapshot, b: SessionSnapshot) =>
  a.status === b.status &&
  a.sessionKey === b.sessionKey &&
  a.expiresAt === b.expiresAt &&
  a.error === b.error &&
  a.lastRefreshAt === b.lastRefreshAt;

/**
 * The session snapshot, or the slice `selector` picks from it. The component re-renders only when the slice
 * changes by `Object.is` (without a selector: when a field of the snapshot changes), so a component that
 * selects `sessionKey` does not re-render on refreshes.
 */
export function useSession(): SessionSnapshot;
export function useSession<T>(selector: (snapshot: SessionSnapshot) => T): T;
export function useSession<T>(selector?: (snapshot: SessionSnapshot) => T): T | SessionSnapshot {
  const engine = useSessionEngine();
  useEffect(() => {
    engine.getSnapshot(); // a clock check: a token that went stale while the page slept moves the machine on
  }, [engine]);
  return useSelector(
    engine.actor,
    (machine): T | SessionSnapshot => (selector ? selector(toSessionSnapshot(machine)) : toSessionSnapshot(machine)),
    selector ? Object.is : (a, b) => sameSnapshot(a as SessionSnapshot, b as SessionSnapshot),
  );
}

/** `engine.getToken`, as a function whose identity stays the same while the provider's engine does. */
export function useGetToken(): (options?: GetTokenOptions) => Promise<string | null> {
  const engine = useSessionEngine();
  return useCallback((options?: GetTokenOptions) => engine.getToken(options), [engine]);
}
