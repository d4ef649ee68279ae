import { decodeJwt, type JWTPayload } from 'jose';
import { InvalidTokenError } from '../errors.js';
import type { HeldToken } from '../../machines/types.js';

export const DEFAULT_SESSION_KEY_CLAIMS = ['sid', 'sessionId', 'session_id', 'refresh_token_id', 'sub'] as const;

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;

function decodeClaims(accessToken: string): JWTPayload | null {
  if (!JWT_SHAPE.test(accessToken)) return null;
  try {
    return decodeJwt(accessToken);
  } catch (cause) {
    throw new InvalidTokenError('The access token looks like a JWT but cannot be decoded', { cause });
  }
}

function isPositiveFinite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
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

/**
 * Turns a TokenSet (as received at `receivedAt`, local ms) into a held token. Expiry is on the local clock:
 * `expiresIn`, then `expiresAt`, then the JWT's `exp - iat` from receipt (which applies the server offset).
 */
export function parseTokenSet(set: unknown, receivedAt: number, keyClaims: readonly string[]): HeldToken {
  if (typeof set !== 'object' || set === null) throw new InvalidTokenError('The token set is not an object');
  const { accessToken, refreshToken, expiresAt, expiresIn, sessionKey } = set as Record<string, unknown>;
  if (typeof accessToken !== 'string' || accessToken === '') throw new InvalidTokenError('The access token is missing');
  if (refreshToken !== undefined && (typeof refreshToken !== 'string' || refreshToken === '')) {
    throw new InvalidTokenError('The refresh token is not a string');
  }
  if (sessionKey !== undefined && (typeof sessionKey !== 'string' || sessionKey === '')) {
    throw new InvalidTokenError('The session key is not a string');
  }
  const claims = decodeClaims(accessToken);
  const iat = claims?.iat;
  const exp = claims?.exp;
  const serverOffsetMs = isPositiveFinite(iat) ? iat * 1000 - receivedAt : null;

  let expiresAtLocal: number;
  if (expiresIn !== undefined) {
    if (!isPositiveFinite(expiresIn)) throw new InvalidTokenError('expiresIn is not a positive number');
    expiresAtLocal = receivedAt + expiresIn * 1000;
  } else if (expiresAt !== undefined) {
    if (!isPositiveFinite(expiresAt)) throw new InvalidTokenError('expiresAt is not a valid time');
    expiresAtLocal = expiresAt;
  } else if (isPositiveFinite(exp)) {
    expiresAtLocal = isPositiveFinite(iat) ? receivedAt + (exp - iat) * 1000 : exp * 1000;
  } else {
    throw new InvalidTokenError('The token has no expiry: give expiresAt or expiresIn for an opaque token');
  }
  if (expiresAtLocal <= receivedAt) throw new InvalidTokenError('The token expires before it was received');

  return {
    accessToken,
    ...(refreshToken === undefined ? {} : { refreshToken }),
    expiresAt: expiresAtLocal,
    issuedAt: receivedAt,
    serverOffsetMs,
    sessionKey: (sessionKey as string | undefined) ?? sessionKeyOf(claims, keyClaims),
    userId: typeof claims?.sub === 'string' ? claims.sub : null,
  };
}
