/**
 * The key and claim types of sessionchart/server: jose's, restated. jose ships ES modules only, and the
 * declarations a CommonJS consumer loads may not import from an ES module (TS1479 under `module: node16`).
 * jose's values and the runtime's WebCrypto keys fit them.
 */

/** A WebCrypto key, as `crypto.subtle.importKey` (or jose's `importSPKI`, `generateKeyPair`...) gives it. */
export interface CryptoKey {
  readonly algorithm: { readonly name: string };
  readonly extractable: boolean;
  readonly type: string;
  readonly usages: readonly string[];
}

/** A JSON Web Key (RFC 7517), public or private. */
export interface JWK {
  kty?: string;
  alg?: string;
  use?: string;
  key_ops?: string[];
  ext?: boolean;
  kid?: string;
  x5c?: string[];
  x5t?: string;
  'x5t#S256'?: string;
  x5u?: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  k?: string;
  pub?: string;
  d?: string;
  dp?: string;
  dq?: string;
  p?: string;
  q?: string;
  qi?: string;
  priv?: string;
  oth?: Array<{ d?: string; r?: string; t?: string }>;
}

/** The claims of a verified JWT: the registered ones (RFC 7519) typed, any other `unknown`. */
export interface JWTPayload {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  jti?: string;
  nbf?: number;
  exp?: number;
  iat?: number;
  [claim: string]: unknown;
}
