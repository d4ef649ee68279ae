/**
 * Errors with a stable `code` (on the class and on each instance) so callers switch on codes, not messages.
 * Messages never contain tokens.
 */
export type SessionErrorCode = 'invalid_token' | 'network' | 'auth' | 'aborted';

export interface SessionErrorOptions {
  cause?: unknown;
}

export class SessionError extends Error {
  static code: SessionErrorCode | 'session' = 'session';
  readonly code: SessionErrorCode | 'session' = 'session';

  constructor(message?: string, options?: SessionErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

/** A token that cannot be decoded or carries no usable expiry. */
export class InvalidTokenError extends SessionError {
  static override code = 'invalid_token' as const;
  override readonly code = 'invalid_token' as const;
  constructor(message = 'The token is malformed or has no usable expiry', options?: SessionErrorOptions) {
    super(message, options);
  }
}

export interface NetworkErrorOptions extends SessionErrorOptions {
  /** How long the server asked us to wait before the next attempt (HTTP Retry-After), in ms. */
  retryAfterMs?: number;
}

/** A transient fault: no network, a timeout, 408, 429 or 5xx. The session is kept and retried. */
export class NetworkError extends SessionError {
  static override code = 'network' as const;
  override readonly code = 'network' as const;
  readonly retryAfterMs: number | undefined;
  constructor(message = 'The token could not be fetched because of a network fault', options?: NetworkErrorOptions) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** The server refused the session (OAuth invalid_grant, HTTP 401): the session ends. */
export class AuthError extends SessionError {
  static override code = 'auth' as const;
  override readonly code = 'auth' as const;
  constructor(message = 'The server refused the session', options?: SessionErrorOptions) {
    super(message, options);
  }
}

/** The operation was cancelled, for example by a sign-out while a refresh was in flight. */
export class AbortError extends SessionError {
  static override code = 'aborted' as const;
  override readonly code = 'aborted' as const;
  constructor(message = 'The operation was aborted', options?: SessionErrorOptions) {
    super(message, options);
  }
}

export type AnySessionError = InvalidTokenError | NetworkError | AuthError | AbortError;

const REFRESH_FAILURE_CODES: ReadonlySet<unknown> = new Set(['auth', 'invalid_token', 'network']);

/**
 * Anything a `refresh` throws that is not an AuthError or InvalidTokenError counts as a network fault.
 * Errors are recognised by `code`, not `instanceof`: an app may load the ESM and the CJS build side by side.
 */
export function toRefreshFailure(error: unknown): InvalidTokenError | NetworkError | AuthError {
  if (error instanceof Error && REFRESH_FAILURE_CODES.has((error as { code?: unknown }).code)) {
    return error as InvalidTokenError | NetworkError | AuthError;
  }
  return new NetworkError(undefined, { cause: error });
}
