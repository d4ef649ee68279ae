import { useMemo } from 'react';
import { useSelector } from '@xstate/react';
import type { SessionEngine } from '../engine/engine.js';
import { createConvexAuthSource, isLoadingOf, sessionOf, type ConvexAuth, type ConvexAuthOptions } from './auth.js';

export { createConvexAuth, type ConvexAuth, type FetchAccessToken } from './auth.js';

/**
 * The `useAuth` hook for Convex's `ConvexProviderWithAuth`:
 * `<ConvexProviderWithAuth client={convex} useAuth={() => useConvexAuth(engine)}>`.
 *
 * The returned object, and its `fetchAccessToken`, keep their identity until the session identity (what
 * `session$` emits) or `isLoading` changes: Convex re-authenticates its socket whenever they change, so a
 * refresh must not change them. The machine's snapshot is read with `@xstate/react`'s `useSelector`, a pure
 * read during render.
 */
export function useConvexAuth(engine: SessionEngine, options?: ConvexAuthOptions): ConvexAuth {
  const maxHandOffAgeMs = options?.maxHandOffAgeMs;
  const source = useMemo(() => createConvexAuthSource(engine, { maxHandOffAgeMs }), [engine, maxHandOffAgeMs]);
  const session = useSelector(engine.actor, sessionOf);
  const isLoading = useSelector(engine.actor, isLoadingOf);
  return useMemo(() => source.authFor(session, isLoading), [source, session, isLoading]);
}
