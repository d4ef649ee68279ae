import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * HS256 JWTs, signed and checked synchronously with node:crypto's HMAC: WebCrypto answers with a promise, which
 * settles outside the turn a fake clock runs in, so a token minted under `vi.useFakeTimers()` would come late.
 */

const base64url = (text: string) => Buffer.from(text).toString('base64url');
const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

const signatureOf = (signed: string, secret: string) => createHmac('sha256', secret).update(signed).digest();

/** An HS256 JWT with exactly these claims (none added: `iat`, `exp` and the rest are the caller's). */
export function signJwt(claims: Record<string, unknown>, secret = 'sessionchart-testing'): string {
  const signed = `${HEADER}.${base64url(JSON.stringify(claims))}`;
  return `${signed}.${signatureOf(signed, secret).toString('base64url')}`;
}

/** A JWT's claims, read without checking the signature; null when `token` is no JWT. */
export function decodeClaims(token: string): Record<string, unknown> | null {
  const payload = token.split('.')[1];
  if (payload === undefined) return null;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null ? (claims as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Whether `token` is a JWT signed with `secret`. */
export function isSignedWith(token: string, secret: string): boolean {
  const parts = token.split('.');
  if (parts.length !== 3) return false;
  const expected = signatureOf(`${parts[0]}.${parts[1]}`, secret);
  const given = Buffer.from(parts[2]!, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
