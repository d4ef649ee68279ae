import type { SessionInfo, SessionToken, StoredSession } from '../../machines/types.js';
import { isStoredSession } from '../tabs/messages.js';
import type { TokenStorage } from '../types.js';
import type { EngineClock } from './clock.js';
import { reporting } from './reported.js';

/**
 * Where the session outlives the page or the process: the app's `storage` (the Web Storage shape, sync or
 * async), and, with tabs, the origin's store the next lock holder reads (IndexedDB in a browser). Both hold the
 * session with wall-clock times; the engine reads them back on its own clock. A storage that throws or rejects
 * never stops the engine: the failure goes to `onError`, typed, and the engine runs on from memory.
 */
export interface SessionVault {
  read(): Promise<StoredSession | null>;
  /** `toTabs: false`: the storage only (another tab wrote the tabs' store). */
  save(stored: StoredSession, toTabs?: false): Promise<void>;
  clear(): Promise<void>;
}

/** The origin's store as the vault uses it (see src/tabs/tabActors.ts): the newest session of the origin. */
export interface NewestRecord {
  get(): Promise<unknown>;
  set(value: unknown): Promise<void>;
  delete(): Promise<void>;
}

export interface VaultOptions {
  storage?: TokenStorage;
  /** The key of the session in `storage`. */
  key: string;
  tabs?: NewestRecord;
  clock: EngineClock;
  report: (error: unknown) => void;
}

/** A token with its times moved by `by` ms (engine time <-> wall-clock time). */
export const shiftToken = (token: SessionToken, by: number): SessionToken => ({
  ...token,
  expiresAt: token.expiresAt + by,
  issuedAt: token.issuedAt + by,
  ...(token.lifeStartsAt === undefined ? {} : { lifeStartsAt: token.lifeStartsAt + by }),
});

/** The same session with every time moved by `by` ms (engine time <-> wall-clock time). */
export const shiftSession = (session: SessionInfo, by: number): SessionInfo => ({ ...session, startedAt: session.startedAt + by });

export function shiftStored(stored: StoredSession, by: number): StoredSession {
  return { ...stored, session: shiftSession(stored.session, by), token: stored.token && shiftToken(stored.token, by) };
}

function parse(text: unknown): unknown {
  if (typeof text !== 'string') return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export function createVault({ storage, key, tabs, clock, report }: VaultOptions): SessionVault {
  // Storage calls may throw synchronously (a full localStorage, a SecurityError) or reject: both are failures.
  const { attempt } = reporting(report, 'The session');
  const fromStore = (value: unknown) => (isStoredSession(value) ? shiftStored(value, clock.fromWall(0)) : null);
  // Writes one after another, in the order they were asked for; with none pending a write starts at once, so a
  // synchronous storage holds a sign-in's session before `signIn` returns.
  let tail: Promise<unknown> | null = null;
  const inOrder = (write: () => Promise<unknown>) => {
    const run = tail ? tail.then(write) : write();
    const mine: Promise<unknown> = run.finally(() => tail === mine && (tail = null));
    tail = mine;
    return run;
  };

  return {
    async read() {
      const shared = tabs ? fromStore(await attempt('store read', () => tabs.get())) : null;
      if (shared !== null || !storage) return shared;
      return fromStore(parse(await attempt('storage read', () => storage.getItem(key))));
    },
    save(stored, toTabs) {
      const wall = shiftStored(stored, -clock.fromWall(0));
      return inOrder(async () => {
        if (tabs && toTabs !== false) await attempt('store write', () => tabs.set(wall));
        if (storage) await attempt('storage write', () => storage.setItem(key, JSON.stringify(wall)));
      }).then(() => {});
    },
    clear() {
      return inOrder(async () => {
        if (tabs) await attempt('store delete', () => tabs.delete());
        if (storage) await attempt('storage delete', () => storage.removeItem(key));
      }).then(() => {});
    },
  };
}
