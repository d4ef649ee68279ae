import { errors, jwtVerify } from 'jose';
import { DEFAULT_SESSION_KEY_CLAIMS, sessionKeyOf } from '../engine/claims.js';
import { keyResolver, NoKeyError } from './keys.js';
import type { CryptoKey, JWK, JWTPayload } from './types.js';

export type { CryptoKey, JWK, JWTPayload } from './types.js';

export interface VerifySessionTokenOptions {
  /** HS256/384/512 tokens are checked with this, and only with this. */
  secret?: string | Uint8Array;
  /** One public key for every other algorithm. */
  key?: CryptoKey | JWK;
  /** A JWKS endpoint, used when no `key` is given; its keys are cached per URL across calls. */
  jwksUrl?: string | URL;
  issuer?: string | string[];
  audience?: string | string[];
  algorithms?: string[];
  /** Default 60: clock drift allowed between the auth server and this backend. */
  leewaySeconds?: number;
  /** Default ['sid', 'sessionId', 'session_id', 'refresh_token_id', 'sub'], as in the engine. */
  sessionKeyClaims?: readonly string[];
}

export type VerifyFailureCode = 'expired' | 'not_yet_valid' | 'bad_signature' | 'bad_claim' | 'malformed' | 'no_key';

export interface VerifySuccess {
  ok: true;
  claims: JWTPayload;
  sessionKey: string | null;
}

export interface VerifyFailure {
  ok: false;
  code: VerifyFailureCode;
  message: string;
}

export type VerifySessionTokenResult = VerifySuccess | VerifyFailure;

const DEFAULT_LEEWAY_SECONDS = 60;

const fail = (code: VerifyFailureCode, message: string): VerifyFailure => ({ ok: false, code, message });

const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

/** Options a JS caller could get wrong; jose would throw on some and silently misbehave on others (NaN leeway). */
function optionsProblem(options: VerifySessionTokenOptions): string | null {
  const { secret, jwksUrl, leewaySeconds, algorithms, sessionKeyClaims } = options;
  if (secret !== undefined && !((typeof secret === 'string' || secret instanceof Uint8Array) && secret.length > 0)) {
    return 'secret must be a non-empty string or Uint8Array';
  }
  if (jwksUrl !== undefined && !URL.canParse(String(jwksUrl))) return 'jwksUrl is not a valid URL';
  if (leewaySeconds !== undefined && !(Number.isFinite(leewaySeconds) && leewaySeconds >= 0)) {
    return 'leewaySeconds must be a finite number >= 0';
  }
  if (algorithms !== undefined && !isStringArray(algorithms)) return 'algorithms must be an array of strings';
  if (sessionKeyClaims !== undefined && !isStringArray(sessionKeyClaims)) {
    return 'sessionKeyClaims must be an array of strings';
  }
  if (secret === undefined && options.key == null && jwksUrl === undefined) {
    return 'No secret, key or jwksUrl is configured';
  }
  return null;
}

/**
 * Maps what jwtVerify threw to a result code. Messages are our own: jose's may quote header or claim values.
 * An `alg` outside `algorithms` counts as `bad_signature`: the token is well formed, but not signed in a
 * way this backend accepts (the same answer as for alg confusion or a forged signature).
 */
function classify(err: unknown): VerifyFailure {
  if (err instanceof NoKeyError) return fail('no_key', err.message);
  // Options were checked up front, so a non-jose error is jose refusing the key for this alg
  // (a TypeError such as an RSA CryptoKey for an ES256 token, or an RSA key under 2048 bits).
  if (!(err instanceof errors.JOSEError)) return fail('no_key', "The configured key cannot verify the token's algorithm");
  switch (err.code) {
    case 'ERR_JWT_EXPIRED':
      return fail('expired', 'The token has expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason } = err as errors.JWTClaimValidationFailed;
      if (claim === 'nbf' && reason === 'check_failed') return fail('not_yet_valid', 'The token is not valid yet (nbf)');
      // `claim` names the check jose ran (iss, aud, nbf, exp, iat), never a value from the token.
      return fail('bad_claim', `The "${claim}" claim is missing, invalid or not accepted`);
    }
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return fail('bad_signature', 'The signature does not match the key');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return fail('bad_signature', "The token's algorithm is not in the allowed algorithms");
    default:
      // ERR_JWS_INVALID, ERR_JWT_INVALID, ERR_JOSE_NOT_SUPPORTED: not a JWT we can parse or run.
      return fail('malformed', 'The token is not a well-formed signed JWT');
  }
}

/**
 * Verifies a session JWT on a backend. Never throws or rejects: a bad token, bad options or an unreachable
 * JWKS all come back as `{ ok: false, code, message }`. Unusable options fail closed as `no_key`: the
 * verifier has nothing trustworthy to check the token against. Messages never contain the token.
 */
export async function verifySessionToken(
  token: string,
  options: VerifySessionTokenOptions,
): Promise<VerifySessionTokenResult> {
  const opts: VerifySessionTokenOptions = typeof options === 'object' && options !== null ? options : {};
  const problem = optionsProblem(opts);
  if (problem) return fail('no_key', problem);
  if (typeof token !== 'string' || token === '') return fail('malformed', 'The token is not a non-empty string');

  const { secret, key, jwksUrl, issuer, audience, algorithms } = opts;
  const leeway = opts.leewaySeconds ?? DEFAULT_LEEWAY_SECONDS;
  const getKey = keyResolver({
    secret: typeof secret === 'string' ? new TextEncoder().encode(secret) : secret,
    key: key ?? undefined,
    jwksUrl: jwksUrl === undefined ? undefined : new URL(jwksUrl),
  });

  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(token, getKey, {
      issuer,
      audience,
      algorithms: algorithms && [...algorithms],
      clockTolerance: leeway,
    }));
  } catch (err) {
    return classify(err);
  }
  // jose checks `iat` only together with maxTokenAge; a token issued in the future is not valid yet.
  if (typeof claims.iat === 'number' && claims.iat > Date.now() / 1000 + leeway) {
    return fail('not_yet_valid', 'The token was issued in the future (iat)');
  }
  return { ok: true, claims, sessionKey: sessionKeyOf(claims, opts.sessionKeyClaims ?? DEFAULT_SESSION_KEY_CLAIMS) };
}
