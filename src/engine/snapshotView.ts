import type { SnapshotFrom } from 'xstate';
import type { sessionMachine } from '../../machines/sessionMachine.js';
import { isFresh, lifeStartOf } from '../../machines/tokenMath.js';
import type { SessionConfig } from '../../machines/types.js';
import type { SessionSnapshot, SessionStatus } from '../types.js';
import type { EngineClock } from './clock.js';

type MachineSnapshot = SnapshotFrom<typeof sessionMachine>;

/** The machine's top-level state name. */
function stateName(snapshot: MachineSnapshot): SessionStatus {
  const value = snapshot.value;
  return (typeof value === 'string' ? value : Object.keys(value)[0]) as SessionStatus;
}

const FIELDS = ['status', 'sessionKey', 'session', 'expiresAt', 'issuedAt', 'error', 'lastRefreshAt'] as const;

const sameSnapshot = (a: SessionSnapshot, b: SessionSnapshot) => FIELDS.every((field) => a[field] === b[field]);

/**
 * The public snapshot, read purely from the machine's snapshot and the clock (React reads it during render):
 * `fresh` that the clock says is no longer fresh reads `stale`, the machine's next step. Times are wall-clock
 * ms. The object keeps its identity until a field changes (useSyncExternalStore needs that).
 */
export function createSnapshotView(config: SessionConfig, clock: EngineClock) {
  let published: SessionSnapshot | null = null;
  return {
    publish(snapshot: MachineSnapshot, now: number): SessionSnapshot {
      const { session, token, error, lastRefreshAt } = snapshot.context;
      const name = stateName(snapshot);
      const next: SessionSnapshot = {
        status: name === 'fresh' && !isFresh(token, now, config) ? 'stale' : name,
        sessionKey: session?.sessionKey ?? null,
        session,
        expiresAt: token === null ? null : clock.toWall(token.expiresAt),
        issuedAt: token === null ? null : clock.toWall(lifeStartOf(token)),
        error,
        lastRefreshAt: lastRefreshAt === null ? null : clock.toWall(lastRefreshAt),
      };
      if (published === null || !sameSnapshot(next, published)) published = next;
      return published;
    },
  };
}
