import { useMemo } from 'react';
import { useSelector } from '@xstate/react';
import type { SessionEngine } from '../engine/engine.js';
import { createConvexAuthSource, isLoadingOf, type ConvexAuth, type ConvexAuthOptions } from './auth.js';

export { createConvexAuth, type ConvexAuth, type FetchAccessToken } from './auth.js';

/**
 * The `useAuth` hook for Convex's `ConvexProviderWithAuth`:
 * `<ConvexProviderWithAuth client={convex} useAuth={() => useConvexAuth(engine)}>`.
 *
 * The returned object, and its `fetchAccessToken`, keep their identity until the session identity (what
 * `session$` emits) or `isLoading` changes: Convex re-authenticates its socket whenever they change, so a
 * refresh must not change them. The engine's snapshot (a pure read) is read whenever its actor moves, with
 * `@xstate/react`'s `useSelector`.
 */
export function useConvexAuth(engine: SessionEngine, options?: ConvexAuthOptions): ConvexAuth {
  const maxHandOffAgeMs = options?.maxHandOffAgeMs;
  const source = useMemo(() => createConvexAuthSource(engine, { maxHandOffAgeMs }), [engine, maxHandOffAgeMs]);
  const session = useSelector(engine.actor, () => engine.getSnapshot().session);
  const isLoading = useSelector(engine.actor, () => isLoadingOf(engine.getSnapshot()));
  return useMemo(() => source.authFor(session, isLoading), [source, session, isLoading]);
}
