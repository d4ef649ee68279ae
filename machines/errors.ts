/**
 * Errors with a stable `code` (on the class and on each instance) so callers switch on codes, not messages.
 * They live beside the machine, which records them (a refresh that timed out, an answer that is no new token),
 * and are re-exported by the package. Messages never contain tokens: a cause's message is appended with any
 * JWT-looking text replaced.
 */
export type SessionErrorCode = 'invalid_token' | 'network' | 'auth' | 'aborted';

export interface SessionErrorOptions {
  cause?: unknown;
}

/** Three dot-separated base64url runs, the shape of a JWT: never copied from a cause into a message. */
const TOKEN_TEXT = /[\w-]{8,}\.[\w-]{8,}\.[\w-]*/g;

/** Text with anything shaped like a JWT replaced, for messages and logs. */
export const scrubTokens = (text: string): string => text.replace(TOKEN_TEXT, '[token]');

function causeMessageOf(cause: unknown): string | null {
  // A cause with an empty message adds nothing: every message includes ''.
  if (!(cause instanceof Error)) return null;
  return scrubTokens(cause.message);
}

export class SessionError extends Error {
  static code: SessionErrorCode | 'session' = 'session';
  readonly code: SessionErrorCode | 'session' = 'session';

  constructor(message = 'The session failed', options?: SessionErrorOptions) {
    const causeMessage = causeMessageOf(options?.cause);
    super(
      causeMessage === null || message.includes(causeMessage) ? message : `${message}: ${causeMessage}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = new.target.name;
  }
}

/** A token that cannot be decoded, carries no usable expiry, or is no new token where one was asked for. */
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

/** The operation was cancelled: a sign-out while a refresh was in flight, or an engine that was stopped. */
export class AbortError extends SessionError {
  static override code = 'aborted' as const;
  override readonly code = 'aborted' as const;
  constructor(message = 'The operation was aborted', options?: SessionErrorOptions) {
    super(message, options);
  }
}

export type AnySessionError = InvalidTokenError | NetworkError | AuthError | AbortError;

/** A server's Retry-After counts only when finite and positive, and never for more than an hour. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

export function saneRetryAfterMs(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.min(value, MAX_RETRY_AFTER_MS) : undefined;
}

const REFRESH_FAILURE_CODES: ReadonlySet<unknown> = new Set(['auth', 'invalid_token', 'network']);

/**
 * A failed refresh as the machine records it: an AuthError, InvalidTokenError or NetworkError as it is, anything
 * else as a network fault with it as the cause. Errors are recognised by `code`, not `instanceof`: an app may
 * load the ESM and the CJS build side by side.
 */
export function toRefreshFailure(error: unknown): InvalidTokenError | NetworkError | AuthError {
  if (error instanceof Error && REFRESH_FAILURE_CODES.has((error as { code?: unknown }).code)) {
    return error as InvalidTokenError | NetworkError | AuthError;
  }
  return new NetworkError('The refresh function failed', { cause: error });
}
