import { decodeJwt, type JWTPayload } from 'jose';
import { InvalidTokenError } from '../errors.js';
import type { HeldToken } from '../../machines/types.js';

export const DEFAULT_SESSION_KEY_CLAIMS = ['sid', 'sessionId', 'session_id', 'refresh_token_id', 'sub'] as const;

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;
/** Seconds since the epoch stay below this until the year 5138; a larger `exp` or `iat` is in milliseconds. */
const MAX_EPOCH_SECONDS = 1e11;

/** When a token set arrived, on the engine's clock. */
export interface Arrival {
  /** The instant its life counts from: a refresh's start (`sentAt`), a sign-in's receipt. */
  at: number;
  /** Wall-clock ms to engine time (a `TokenSet.expiresAt`, which the app computed from `Date.now()`). */
  fromWall: (time: number) => number;
  keyClaims: readonly string[];
}

interface ParsedSet {
  accessToken: string;
  refreshToken: string | undefined;
  expiresAt: number | undefined;
  expiresIn: number | undefined;
  sessionKey: string | undefined;
  claims: JWTPayload | null;
}

const isPositiveFinite = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value) && value > 0;

function checkEpochSeconds(claims: JWTPayload | null): void {
  for (const name of ['exp', 'iat'] as const) {
    const value = claims?.[name];
    if (isPositiveFinite(value) && value > MAX_EPOCH_SECONDS) {
      throw new InvalidTokenError(`The token's ${name} is in milliseconds; JWT times are seconds`);
    }
  }
}

/** A JWT's claims; null for an opaque token, or for one that only looks like a JWT when its expiry is given. */
function decodeClaims(accessToken: string, expiryGiven: boolean): JWTPayload | null {
  if (!JWT_SHAPE.test(accessToken)) return null;
  try {
    return decodeJwt(accessToken);
  } catch (cause) {
    if (expiryGiven) return null;
    throw new InvalidTokenError('The access token looks like a JWT but cannot be decoded', { cause });
  }
}

function readSet(set: unknown): ParsedSet {
  if (typeof set !== 'object' || set === null) throw new InvalidTokenError('The token set is not an object');
  const { accessToken, refreshToken, expiresAt, expiresIn, sessionKey } = set as Record<string, unknown>;
  if (typeof accessToken !== 'string' || accessToken === '') throw new InvalidTokenError('The access token is missing');
  if (refreshToken !== undefined && (typeof refreshToken !== 'string' || refreshToken === '')) {
    throw new InvalidTokenError('The refresh token is not a string');
  }
  if (sessionKey !== undefined && (typeof sessionKey !== 'string' || sessionKey === '')) {
    throw new InvalidTokenError('The session key is not a string');
  }
  if (expiresIn !== undefined && !isPositiveFinite(expiresIn)) throw new InvalidTokenError('expiresIn is not a positive number');
  if (expiresAt !== undefined && !isPositiveFinite(expiresAt)) throw new InvalidTokenError('expiresAt is not a valid time');
  const claims = decodeClaims(accessToken, expiresIn !== undefined || expiresAt !== undefined);
  checkEpochSeconds(claims);
  return { accessToken, refreshToken, expiresAt, expiresIn, sessionKey, claims } as ParsedSet;
}

/** The refresh token an answer carries, even when its access token is unusable: it may replace the one sent. */
export function refreshTokenIn(set: unknown): string | undefined {
  const value = typeof set === 'object' && set !== null ? (set as { refreshToken?: unknown }).refreshToken : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function sessionKeyOf(claims: JWTPayload | null, keyClaims: readonly string[]): string | null {
  if (!claims) return null;
  for (const name of keyClaims) {
    const value = claims[name];
    if (typeof value === 'string' && value !== '') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  }
  return null;
}

function heldToken(set: ParsedSet, times: Pick<HeldToken, 'expiresAt' | 'issuedAt' | 'lifeStartsAt' | 'serverOffsetMs'>, arrival: Arrival): HeldToken {
  if (times.expiresAt <= times.issuedAt) throw new InvalidTokenError('The token expires before it was issued');
  return {
    accessToken: set.accessToken,
    ...(set.refreshToken === undefined ? {} : { refreshToken: set.refreshToken }),
    ...times,
    sessionKey: set.sessionKey ?? sessionKeyOf(set.claims, arrival.keyClaims),
    userId: typeof set.claims?.sub === 'string' ? set.claims.sub : null,
  };
}

/**
 * A token without `iat` or a given life: its expiry is read on the local clock. A refresh answer must still be
 * ahead of it; a sign-in's may be past (it starts the session with a refresh), its life then unknown.
 */
function judgedFromNow(set: ParsedSet, expiresAt: number, arrival: Arrival, serverOffsetMs: number | null, mayBeExpired = false): HeldToken {
  if (expiresAt <= arrival.at && !mayBeExpired) throw new InvalidTokenError('The token expired before it was received');
  return heldToken(set, { expiresAt, issuedAt: Math.min(arrival.at, expiresAt - 1), serverOffsetMs }, arrival);
}

/**
 * A refresh's answer. Its life counts from when the request was sent (`arrival.at`): the server minted it after
 * that, so a slow answer makes the local expiry early, never late. `expiresIn`, then `expiresAt`, win over claims.
 */
export function parseRefreshAnswer(set: unknown, arrival: Arrival): HeldToken {
  const parsed = readSet(set);
  const { claims } = parsed;
  const sentAt = arrival.at;
  const serverOffsetMs = isPositiveFinite(claims?.iat) ? claims.iat * 1000 - sentAt : null;
  if (parsed.expiresIn !== undefined) {
    return heldToken(parsed, { expiresAt: sentAt + parsed.expiresIn * 1000, issuedAt: sentAt, serverOffsetMs }, arrival);
  }
  if (parsed.expiresAt !== undefined) return judgedFromNow(parsed, arrival.fromWall(parsed.expiresAt), arrival, serverOffsetMs);
  if (!isPositiveFinite(claims?.exp)) {
    throw new InvalidTokenError('The token has no expiry: give expiresAt or expiresIn for an opaque token');
  }
  // No iat: the server's exp read on the engine's clock (which has counted any set-back of the wall clock).
  if (serverOffsetMs === null) return judgedFromNow(parsed, claims.exp * 1000, arrival, null);
  return heldToken(parsed, { expiresAt: sentAt + (claims.exp - claims.iat!) * 1000, issuedAt: sentAt, serverOffsetMs }, arrival);
}

/**
 * A token handed to `signIn`, not necessarily minted just now (an SDK's cache, a stored token): a JWT is judged
 * by its `exp` on the server's clock, turned local with the offset this engine measured from its refreshes
 * (`measuredOffsetMs`; none: no correction), or with the offset an `iat` in the future reveals. So an old token
 * is never served as fresh, and one already expired starts the session with a refresh.
 */
export function parseSignIn(set: unknown, arrival: Arrival, measuredOffsetMs: number | null): HeldToken {
  const parsed = readSet(set);
  const { claims } = parsed;
  const receivedAt = arrival.at;
  if (parsed.expiresIn !== undefined) {
    return heldToken(parsed, { expiresAt: receivedAt + parsed.expiresIn * 1000, issuedAt: receivedAt, serverOffsetMs: measuredOffsetMs }, arrival);
  }
  if (parsed.expiresAt !== undefined) {
    return judgedFromNow(parsed, arrival.fromWall(parsed.expiresAt), arrival, measuredOffsetMs, true);
  }
  if (!isPositiveFinite(claims?.exp)) {
    throw new InvalidTokenError('The token has no expiry: give expiresAt or expiresIn for an opaque token');
  }
  // Server clock minus engine clock: as measured, else none (the server's clock read as the engine's).
  const assumedOffsetMs = measuredOffsetMs ?? 0;
  // No iat: its life unknown, it counts from now (or it is already expired).
  if (!isPositiveFinite(claims.iat)) {
    return judgedFromNow(parsed, claims.exp * 1000 - assumedOffsetMs, arrival, measuredOffsetMs, true);
  }
  const iatMs = claims.iat * 1000;
  // An iat ahead of the local clock reveals a slow local clock, and by how much.
  const revealed = iatMs - assumedOffsetMs > receivedAt;
  const offsetMs = revealed ? iatMs - receivedAt : assumedOffsetMs;
  const serverOffsetMs = revealed ? offsetMs : measuredOffsetMs;
  const expiresAt = claims.exp * 1000 - offsetMs;
  const lifeStartsAt = iatMs - offsetMs;
  // Ordered by its receipt: an iat counts whole seconds on another clock, so read as the issue time it could
  // fall before a token this origin held earlier, and a late message of that one would look newer.
  const issuedAt = Math.max(lifeStartsAt, Math.min(receivedAt, expiresAt - 1));
  return heldToken(parsed, { expiresAt, issuedAt, serverOffsetMs, ...(lifeStartsAt < issuedAt ? { lifeStartsAt } : {}) }, arrival);
}
