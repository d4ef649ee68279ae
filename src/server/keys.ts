import {
  createRemoteJWKSet,
  errors,
  importJWK,
  type CompactJWSHeaderParameters,
  type FlattenedJWSInput,
  type JWTVerifyGetKey,
  type RemoteJWKSet,
} from 'jose';
import type { CryptoKey, JWK } from './types.js';

/**
 * Every failure while finding the key becomes this, so it maps to `no_key` whatever jose or fetch threw,
 * and its message is ours (fetch and jose messages may carry URLs or token fragments).
 */
export class NoKeyError extends Error {
  override name = 'NoKeyError';
}

export interface KeySources {
  secret?: Uint8Array;
  key?: CryptoKey | JWK;
  jwksUrl?: URL;
}

// HS* tokens are checked with `secret` only and every other alg with `key`/`jwksUrl` only, so a public
// key can never be used as an HMAC secret (the classic algorithm-confusion attack).
const HMAC_ALGS = new Set(['HS256', 'HS384', 'HS512']);

// One remote set per URL: jose's set holds the fetched keys, the refetch cooldown and the in-flight fetch,
// so a new set per call would fetch the JWKS on every request.
const remoteSets = new Map<string, RemoteJWKSet>();

function remoteSet(url: URL): RemoteJWKSet {
  let set = remoteSets.get(url.href);
  if (!set) {
    set = createRemoteJWKSet(url);
    remoteSets.set(url.href, set);
  }
  return set;
}

// importJWK costs a WebCrypto import; a backend verifies the same key on every request.
const imported = new WeakMap<JWK, Map<string, Promise<CryptoKey | Uint8Array>>>();

function importFor(jwk: JWK, alg: string): Promise<CryptoKey | Uint8Array> {
  let byAlg = imported.get(jwk);
  if (!byAlg) {
    byAlg = new Map();
    imported.set(jwk, byAlg);
  }
  let key = byAlg.get(alg);
  if (!key) {
    key = importJWK(jwk, alg);
    byAlg.set(alg, key);
  }
  return key;
}

function isJwk(key: CryptoKey | JWK): key is JWK {
  return typeof (key as JWK).kty === 'string';
}

async function fromKey(key: CryptoKey | JWK, alg: string): Promise<CryptoKey | Uint8Array> {
  if (!isJwk(key)) return key;
  // importJWK would drop a JWK's own `alg` in favour of ours; honour it instead.
  if (key.alg !== undefined && key.alg !== alg) throw new NoKeyError('The configured key is for another algorithm');
  try {
    return await importFor(key, alg);
  } catch {
    throw new NoKeyError("The configured key cannot be used for the token's algorithm");
  }
}

async function fromJwks(url: URL, header: CompactJWSHeaderParameters, token: FlattenedJWSInput) {
  try {
    return await remoteSet(url)(header, token);
  } catch (err) {
    if (err instanceof errors.JWKSTimeout) throw new NoKeyError('The JWKS endpoint timed out');
    if (
      err instanceof errors.JWKSNoMatchingKey ||
      err instanceof errors.JWKSMultipleMatchingKeys ||
      err instanceof errors.JOSENotSupported
    ) {
      throw new NoKeyError("No key in the JWKS matches the token's kid and algorithm");
    }
    throw new NoKeyError('The JWKS could not be fetched or is invalid');
  }
}

/** A jose key resolver that picks the key source by the token's `alg`. */
export function keyResolver({ secret, key, jwksUrl }: KeySources): JWTVerifyGetKey {
  return async (header, token) => {
    const { alg } = header;
    // An unsecured JWT has no signature to check, whichever keys are configured.
    if (alg === 'none') throw new errors.JWSSignatureVerificationFailed('The token is unsigned (alg "none")');
    if (HMAC_ALGS.has(alg)) {
      if (secret) return secret;
      throw new NoKeyError('No secret is configured for HMAC (HS*) tokens');
    }
    if (key) return fromKey(key, alg);
    if (jwksUrl) return fromJwks(jwksUrl, header, token);
    throw new NoKeyError("No key or jwksUrl is configured for the token's algorithm");
  };
}
