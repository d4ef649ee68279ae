/**
 * sessionchart/testing: the project's own test tools, for testing an app's session paths in Node (vitest, jest,
 * node:test): a fake token server, the in-memory origin tabs share, a storage in memory, and an invariant checker.
 * It needs Node (node:crypto, node:http); a browser test runs the token server in Node and talks to it over HTTP.
 */
export { createTokenServer } from './tokenServer.js';
export { createTokenHandler, listen, type Handler, type Listening } from './http.js';
export { checkInvariants } from './checker.js';
export { createMemoryOrigin, type MemoryOrigin } from '../tabs/memoryOrigin.js';
export { createMemoryStorage, type MemoryStorage } from './memoryStorage.js';
export { T0, flushPromises } from './clock.js';
export { decodeClaims, signJwt } from './jwt.js';
export type { ServerSession } from './sessions.js';
export type {
  Fault,
  InvariantChecker,
  InvariantCheckerOptions,
  IssuedToken,
  IssueOptions,
  Outcome,
  RefreshCall,
  RequestState,
  ServerEvent,
  TokenReply,
  TokenRequest,
  TokenResponseBody,
  TokenServerCounters,
  TokenServer,
  TokenServerOptions,
  Verification,
  Violation,
} from './types.js';
