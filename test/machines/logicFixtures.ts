import { createActor } from 'xstate';
import { sessionMachine } from '../../machines/sessionMachine.js';
import { sessionOfAnswer } from '../../machines/tabRules.js';
import type { HeldToken, RefreshInput, SessionContext, SessionInfo } from '../../machines/types.js';
import { CONFIG } from './machineHarness.js';

/** Contexts and events for calling the machine's guards and updates directly, as pure functions. */

export const heldToken = (overrides: Partial<HeldToken> = {}): HeldToken => ({
  accessToken: 'a1',
  issuedAt: 1_000,
  expiresAt: 61_000,
  serverOffsetMs: null,
  sessionKey: 's1',
  userId: 'u1',
  ...overrides,
});

export const session = (sessionKey = 's1', startedAt = 1_000): SessionInfo => ({ sessionKey, userId: 'u1', startedAt });

/** The machine's own starting context (signed out, online, no attempts), so fixtures keep to its shape. */
const initial = createActor(sessionMachine, { input: { config: CONFIG } }).getSnapshot().context;

/** Signed in to `s1` with a 60 s token from 1 s and refresh token `r1`. */
export const context = (overrides: Partial<SessionContext> = {}): SessionContext => ({
  ...initial,
  session: session(),
  token: heldToken(),
  refreshToken: 'r1',
  ...overrides,
});

/** What a request of `held` was sent with: its session object and its refresh token. */
export const requestOf = (held: SessionContext, overrides: Partial<RefreshInput> = {}): RefreshInput => ({
  session: held.session,
  refreshToken: held.refreshToken,
  reason: 'stale',
  satisfiedAfter: held.token?.issuedAt ?? 0,
  ...overrides,
});

/** The request child's report of an answer to a request of `held`, naming the session it belongs to as the child does. */
export const answered = (held: SessionContext, token: HeldToken, now = token.issuedAt, request = requestOf(held)) => ({
  type: 'request.done' as const,
  token,
  session: sessionOfAnswer(request, token, now),
  request,
  now,
});

/** The request child's report of a failed request of `held`. */
export const failed = (held: SessionContext, error: unknown, now = 5_000) => ({
  type: 'request.failed',
  error,
  request: requestOf(held),
  now,
});
