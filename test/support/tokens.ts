/**
 * `mint` for the tests that still name tokens by these options (package, viewer, inspect): a sign-in's token set
 * from sessionchart/testing's token server. New tests call `createTokenServer().signIn()` or `signJwt` themselves.
 */
import { createTokenServer } from '../../src/testing/index.js';
import type { TokenSet } from '../../src/types.js';

export { signJwt } from '../../src/testing/index.js';

/** One server for every token minted here: it hands out a refresh token only where a test names one. */
const server = createTokenServer({ refreshTokens: 'omit' });

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

/** A token set as an auth server with the given skew would issue it now (or `ageS` seconds ago), of session `s1` by default. */
export function mint({ life, sid = 's1', ageS, ...rest }: MintOptions = {}): TokenSet {
  return server.signIn({ sid, lifeSeconds: life, ageSeconds: ageS, ...rest });
}
