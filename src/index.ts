export { createSessionEngine, type SessionEngine, type SessionActor } from './engine/engine.js';
export { sessionMachine } from '../machines/sessionMachine.js';
export { requestMachine } from '../machines/requestMachine.js';
export {
  SessionError,
  InvalidTokenError,
  NetworkError,
  AuthError,
  AbortError,
  type SessionErrorCode,
  type AnySessionError,
  type SessionErrorOptions,
  type NetworkErrorOptions,
} from './errors.js';
export type { TabChannel, TabEnvironment, TabStore } from './tabs/environment.js';
export type {
  TokenSet,
  RefreshContext,
  RefreshFunction,
  RefreshReason,
  RetryOptions,
  SessionEngineOptions,
  TokenStorage,
  SessionInfo,
  SessionSnapshot,
  SessionStatus,
  GetTokenOptions,
} from './types.js';
export type {
  HeldToken,
  RefreshAnswer,
  RefreshInput,
  RequestEvent,
  SessionContext,
  SessionEvent,
  SessionInput,
} from '../machines/types.js';
