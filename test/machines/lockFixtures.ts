import { expect } from 'vitest';
import type { RefreshInput, SessionConfig, StoredFailure, StoredSession, StoreReading } from '../../machines/types.js';
import { CONFIG, sessionOf, token } from './machineHarness.js';
import { startRequestChild, underLock } from './requestHarness.js';

/** Times, requests and store contents for the request child of tabs that share a session, and ways to drive it. */

export const T = 1_000_000;
export const SESSION = sessionOf('s1', T);
/** A refresh of the token issued at T (stale from T + 45 s), asked at ASKED and granted the lock 100 ms later. */
export const ASKED = T + 45_000;
export const GRANTED = ASKED + 100;
export const READ = ASKED + 200;
export const REQUEST: RefreshInput = { session: SESSION, refreshToken: 'r1', reason: 'stale', satisfiedAfter: T };
/** A rotation of SESSION asked at ROTATED: nothing held, the new session's token wanted. */
export const ROTATED = T + 10_000;
export const ROTATION: RefreshInput = { session: SESSION, refreshToken: 'r1', reason: 'rotated', satisfiedAfter: 0 };

/** What another tab left: a token issued at `issuedAt` of `session` (60 s unless `lifeMs`), with its refresh token. */
export const storedToken = (issuedAt: number, session = SESSION, lifeMs = 60_000): StoredSession => ({
  session,
  token: token(issuedAt, { sessionKey: session.sessionKey, refreshToken: 'r-stored', expiresAt: issuedAt + lifeMs }),
  refreshToken: 'r-stored',
});

/** A failed attempt of SESSION another tab recorded at `at`. */
export const storedFailure = (at: number, overrides: Partial<StoredFailure> = {}): StoredFailure => ({
  at,
  sessionKey: 's1',
  code: 'network',
  ...overrides,
});

export const reading = (newest: StoredSession | null, now = READ, failure: StoredFailure | null = null): StoreReading => ({
  newest,
  failure,
  now,
});

export interface Ask {
  request?: RefreshInput;
  at?: number;
  config?: Partial<SessionConfig>;
}

/** A child sharing tabs, asked for `request` at `at`: it waits for the lock. */
export function asked({ request = REQUEST, at = ASKED, config }: Ask = {}) {
  const child = startRequestChild({ ...CONFIG, ...config, shareTabs: true });
  child.send({ type: 'request.send', request, now: at });
  return child;
}

/** Asked, then granted the lock 100 ms later (`waited`: after another tab): the store is being read. */
export function granted(waited = false, ask: Ask = {}) {
  const child = asked(ask);
  child.lastLock().grant((ask.at ?? ASKED) + 100, waited);
  return child;
}

/** Asked, granted at once, and the store read (`newest` answering nothing): the refresh is out. */
export async function sent(newest: StoredSession | null = null, ask: Ask = {}) {
  const child = granted(false, ask);
  await child.endRead(reading(newest));
  expect(child.state()).toEqual(underLock('sending'));
  return child;
}
