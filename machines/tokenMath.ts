import { saneRetryAfterMs } from './errors.js';
import type { HeldToken, RetryPolicy, SessionConfig } from './types.js';

/** Pure time arithmetic over held tokens; every `now` is local-clock ms. */

/** Where the token's life counts from: a signed-in JWT's `iat`, else its issue time. */
export const lifeStartOf = (token: HeldToken): number => token.lifeStartsAt ?? token.issuedAt;

export function lifeMs(token: HeldToken): number {
  return token.expiresAt - lifeStartOf(token);
}

/** The contract's effective threshold: short-lived tokens refresh at half-life instead of looping. */
export function refreshLeadMs(token: HeldToken, refreshThresholdMs: number): number {
  return Math.min(refreshThresholdMs, lifeMs(token) / 2);
}

export function refreshDueAt(token: HeldToken, config: SessionConfig): number {
  return token.expiresAt - refreshLeadMs(token, config.refreshThresholdMs);
}

/**
 * Served only while further than the leeway from expiry. Like the refresh lead, the leeway shrinks for
 * short-lived tokens (at most a quarter of the life): a token that lives no longer than `leewayMs` would
 * otherwise never be servable and every refresh would start another at once.
 */
export function isServable(token: HeldToken | null, now: number, leewayMs: number): token is HeldToken {
  return token !== null && now < token.expiresAt - Math.min(leewayMs, lifeMs(token) / 4);
}

export function isFresh(token: HeldToken | null, now: number, config: SessionConfig): token is HeldToken {
  return isServable(token, now, config.leewayMs) && now < refreshDueAt(token, config);
}

/**
 * Capped exponential backoff for the given failed attempt (1-based). With jitter, the wait is drawn from
 * [delay/2, delay] ("equal jitter") so tabs and clients spread out but never hammer. A server's
 * Retry-After is a floor when it is sane (finite, positive, at most an hour).
 */
export function retryDelayMs(
  attempt: number,
  retry: RetryPolicy,
  retryAfterMs: number | undefined,
  random: () => number,
): number {
  const exponential = Math.min(retry.maxMs, retry.baseMs * retry.factor ** Math.max(0, attempt - 1));
  const jittered = retry.jitter ? exponential / 2 + (random() * exponential) / 2 : exponential;
  return Math.max(jittered, saneRetryAfterMs(retryAfterMs) ?? 0);
}
