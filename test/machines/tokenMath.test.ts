import { describe, expect, it } from 'vitest';
import {
  isFresh,
  isServable,
  lifeMs,
  refreshDueAt,
  refreshLeadMs,
  retryDelayMs,
} from '../../machines/tokenMath.js';
import type { HeldToken, RetryPolicy, SessionConfig } from '../../machines/types.js';
import { CONFIG } from './machineHarness.js';

/** A token held from `issuedAt` to `expiresAt` (local ms). */
const held = (issuedAt: number, expiresAt: number): HeldToken => ({
  accessToken: 'a',
  issuedAt,
  expiresAt,
  serverOffsetMs: null,
  sessionKey: 's1',
  userId: null,
});

const retry: RetryPolicy = CONFIG.retry;
const config = (refreshThresholdMs = 15_000, leewayMs = 5_000): SessionConfig => ({ ...CONFIG, refreshThresholdMs, leewayMs });

describe('token life and refresh lead', () => {
  it('measures the life from issue to expiry', () => {
    expect(lifeMs(held(1_000, 61_000))).toBe(60_000);
  });

  it('leads by the threshold for long tokens and by half the life for short ones', () => {
    expect(refreshLeadMs(held(0, 60_000), 15_000)).toBe(15_000);
    expect(refreshLeadMs(held(0, 20_000), 15_000)).toBe(10_000);
    expect(refreshLeadMs(held(0, 30_000), 15_000)).toBe(15_000);
  });

  it('is due the lead before expiry', () => {
    expect(refreshDueAt(held(1_000, 61_000), config())).toBe(46_000);
    expect(refreshDueAt(held(1_000, 11_000), config())).toBe(6_000);
  });
});

describe('isServable: valid until the leeway before expiry', () => {
  const token = held(0, 60_000);

  it('serves up to one millisecond before the leeway, not at it', () => {
    expect(isServable(token, 54_999, 5_000)).toBe(true);
    expect(isServable(token, 55_000, 5_000)).toBe(false);
    expect(isServable(token, 70_000, 5_000)).toBe(false);
  });

  it('shrinks the leeway to a quarter of a short life', () => {
    const short = held(0, 8_000);
    expect(isServable(short, 5_999, 5_000)).toBe(true);
    expect(isServable(short, 6_000, 5_000)).toBe(false);
  });

  it('serves nothing without a token', () => {
    expect(isServable(null, 0, 5_000)).toBe(false);
  });
});

describe('isFresh: servable and before the refresh is due', () => {
  const token = held(0, 60_000);

  it('is fresh up to one millisecond before the refresh is due', () => {
    expect(isFresh(token, 44_999, config())).toBe(true);
    expect(isFresh(token, 45_000, config())).toBe(false);
  });

  it('is not fresh when the leeway ends before the refresh lead', () => {
    // Leeway 10 s > lead 5 s: not servable from 50 s on, although the refresh is due at 55 s.
    expect(isFresh(token, 49_999, config(5_000, 10_000))).toBe(true);
    expect(isFresh(token, 50_000, config(5_000, 10_000))).toBe(false);
  });

  it('is never fresh without a token', () => {
    expect(isFresh(null, 0, config())).toBe(false);
  });
});

describe('retryDelayMs: capped exponential backoff with equal jitter and Retry-After as a floor', () => {
  const never = () => {
    throw new Error('no jitter expected');
  };

  it('doubles from the base per failed attempt and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(n, retry, undefined, never))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000,
    ]);
  });

  it('waits the base for an attempt count of zero', () => {
    expect(retryDelayMs(0, retry, undefined, never)).toBe(1_000);
  });

  it('follows the factor', () => {
    expect(retryDelayMs(3, { ...retry, factor: 3 }, undefined, never)).toBe(9_000);
  });

  it('draws the jittered wait from the upper half of the delay', () => {
    const jittered = { ...retry, jitter: true };
    expect(retryDelayMs(3, jittered, undefined, () => 0)).toBe(2_000);
    expect(retryDelayMs(3, jittered, undefined, () => 0.5)).toBe(3_000);
    expect(retryDelayMs(3, jittered, undefined, () => 1)).toBe(4_000);
  });

  it("never waits less than the server's Retry-After, and no more when it is shorter", () => {
    expect(retryDelayMs(1, retry, 7_000, never)).toBe(7_000);
    expect(retryDelayMs(3, retry, 500, never)).toBe(4_000);
  });

  it('waits at most an hour for a Retry-After that asks for more', () => {
    expect(retryDelayMs(1, retry, 10 * 3_600_000, never)).toBe(3_600_000);
  });

  it.each([Number.NaN, -7_000, 0, Number.POSITIVE_INFINITY])('ignores a Retry-After of %s', (retryAfterMs) => {
    expect(retryDelayMs(3, retry, retryAfterMs, never)).toBe(4_000);
  });
});
