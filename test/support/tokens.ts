import { createHmac, randomUUID } from 'node:crypto';
import type { TokenSet } from '../../src/types.js';

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** Signs an HS256 JWT synchronously (WebCrypto would run off the fake clock). */
export function signJwt(claims: Record<string, unknown>, secret = 'test-secret'): string {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const signature = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${signature}`;
}

export interface MintOptions {
  /** Token life in seconds. */
  life?: number;
  sid?: string | null;
  sub?: string;
  /** Server clock minus local clock, ms. */
  skewMs?: number;
  /** Seconds since the server minted it (a token from an SDK's cache or a store), so `iat` is in the past. */
  ageS?: number;
  refreshToken?: string;
}

/** A token set as an auth server with the given skew would issue it now (or `ageS` seconds ago). */
export function mint({ life = 60, sid = 's1', sub = 'user-1', skewMs = 0, ageS = 0, refreshToken }: MintOptions = {}): TokenSet {
  const iat = Math.floor((Date.now() + skewMs) / 1000) - ageS;
  const claims: Record<string, unknown> = { sub, iat, exp: iat + life, jti: randomUUID() };
  if (sid !== null) claims.sid = sid;
  return { accessToken: signJwt(claims), ...(refreshToken ? { refreshToken } : {}) };
}
