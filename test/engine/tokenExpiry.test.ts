import { describe, expect, it } from 'vitest';
import { DEFAULT_SESSION_KEY_CLAIMS, parseRefreshAnswer, parseSignIn, type Arrival } from '../../src/engine/claims.js';
import { signJwt } from '../../src/testing/index.js';

/**
 * When a token expires on the local clock, never later than on the server's: a refresh answer counts its life
 * from when its request was sent, a sign-in token is judged by its `exp`.
 */

const AT = 1_700_000_000_000; // a whole second
const S = AT / 1000;
const MIN = 60_000;
const arrival: Arrival = { at: AT, fromWall: (time) => time, keyClaims: DEFAULT_SESSION_KEY_CLAIMS };

describe("parseRefreshAnswer: life from the request's start", () => {
  it('takes expiresIn (seconds from the start) first', () => {
    const jwt = signJwt({ iat: S - 100, exp: S + 900 });
    expect(parseRefreshAnswer({ accessToken: jwt, expiresIn: 60, expiresAt: AT + 5_000 }, arrival)).toMatchObject({
      expiresAt: AT + 60_000,
      issuedAt: AT,
    });
  });

  it('then expiresAt (local wall-clock ms, made engine time)', () => {
    const jwt = signJwt({ iat: S, exp: S + 900 });
    const setBack = { ...arrival, fromWall: (time: number) => time + 10 * MIN };
    expect(parseRefreshAnswer({ accessToken: jwt, expiresAt: AT + 5_000 }, arrival).expiresAt).toBe(AT + 5_000);
    expect(parseRefreshAnswer({ accessToken: jwt, expiresAt: AT + 5_000 }, setBack).expiresAt).toBe(AT + 10 * MIN + 5_000);
  });

  it("then the JWT's life (exp - iat) from the start, whatever the server clock says, recording its offset", () => {
    const skewed = signJwt({ iat: S - 3_600, exp: S - 3_600 + 120 });
    expect(parseRefreshAnswer({ accessToken: skewed }, arrival)).toMatchObject({
      expiresAt: AT + 120_000,
      issuedAt: AT,
      serverOffsetMs: -3_600_000,
    });
    const fast = signJwt({ iat: S + 2, exp: S + 62 });
    expect(parseRefreshAnswer({ accessToken: fast }, arrival).serverOffsetMs).toBe(2_000);
  });

  it('a slow answer makes the expiry early, never late: the time of receipt plays no part', () => {
    // Minted 8 s after the request started, as a slow server or network would deliver it.
    const minted = signJwt({ iat: S + 8, exp: S + 8 + 60 });
    expect(parseRefreshAnswer({ accessToken: minted }, arrival).expiresAt).toBe(AT + 60_000);
  });

  it('reads exp on the clock when there is no iat, and records no offset', () => {
    expect(parseRefreshAnswer({ accessToken: signJwt({ exp: S + 30 }) }, arrival)).toMatchObject({
      expiresAt: AT + 30_000,
      serverOffsetMs: null,
    });
  });

  it('ignores an iat of 0', () => {
    expect(parseRefreshAnswer({ accessToken: signJwt({ iat: 0, exp: S + 30 }) }, arrival)).toMatchObject({
      expiresAt: AT + 30_000,
      serverOffsetMs: null,
    });
  });

  it('accepts a token that expires one millisecond after the start', () => {
    expect(parseRefreshAnswer({ accessToken: 'opaque', expiresAt: AT + 1 }, arrival).expiresAt).toBe(AT + 1);
  });
});

describe('parseSignIn: a token not necessarily minted just now', () => {
  it('a JWT minted now lives its life from now, and reveals no server offset (none is recorded)', () => {
    expect(parseSignIn({ accessToken: signJwt({ iat: S, exp: S + 60 }) }, arrival, null)).toMatchObject({
      expiresAt: AT + 60_000,
      issuedAt: AT,
      serverOffsetMs: null,
    });
  });

  it('one minted earlier in the second it arrived in is ordered by its receipt, its life still from iat', () => {
    const token = parseSignIn({ accessToken: signJwt({ iat: S, exp: S + 60 }) }, { ...arrival, at: AT + 503 }, null);
    expect(token).toMatchObject({ expiresAt: AT + 60_000, issuedAt: AT + 503, lifeStartsAt: AT });
    expect(parseSignIn({ accessToken: signJwt({ iat: S, exp: S + 60 }) }, arrival, null)).not.toHaveProperty('lifeStartsAt');
  });

  it('a JWT without iat lives from its receipt to its exp (so short ones refresh at half that life)', () => {
    const noIat = signJwt({ sid: 's1', exp: S + 20 });
    expect(parseSignIn({ accessToken: noIat }, arrival, null)).toMatchObject({
      expiresAt: AT + 20_000,
      issuedAt: AT,
      serverOffsetMs: null,
    });
    // With an offset measured from refreshes: exp read on the local clock, the offset kept.
    expect(parseSignIn({ accessToken: noIat }, arrival, 5_000)).toMatchObject({
      expiresAt: AT + 15_000,
      issuedAt: AT,
      serverOffsetMs: 5_000,
    });
  });

  it('a JWT issued 10 min ago that expired 5 min ago is held as expired 5 min ago, not as minted now', () => {
    const old = signJwt({ iat: S - 600, exp: S - 300 });
    expect(parseSignIn({ accessToken: old }, arrival, null)).toMatchObject({
      expiresAt: AT - 5 * MIN,
      // Ordered as late as it can be (an expired token's issue time stays before its expiry); its life from iat.
      issuedAt: AT - 5 * MIN - 1,
      lifeStartsAt: AT - 10 * MIN,
    });
  });

  it('one that expired 23 h ago likewise', () => {
    const stale = signJwt({ iat: S - 24 * 3_600, exp: S - 23 * 3_600 });
    expect(parseSignIn({ accessToken: stale }, arrival, null).expiresAt).toBe(AT - 23 * 60 * MIN);
  });

  it('reads exp with the server offset this engine measured from its refreshes', () => {
    // The server's clock runs 2 min ahead of the local one: its exp means 2 min earlier here.
    const token = parseSignIn({ accessToken: signJwt({ iat: S + 100, exp: S + 400 }) }, arrival, 2 * MIN);
    expect(token).toMatchObject({ expiresAt: AT + 280_000, issuedAt: AT, lifeStartsAt: AT - 20_000, serverOffsetMs: 2 * MIN });
  });

  it('an iat in the future reveals a slow local clock, and that offset is used and recorded', () => {
    const ahead = signJwt({ iat: S + 600, exp: S + 660 });
    expect(parseSignIn({ accessToken: ahead }, arrival, null)).toMatchObject({
      expiresAt: AT + 60_000,
      issuedAt: AT,
      serverOffsetMs: 10 * MIN,
    });
  });

  it('expiresIn counts from receipt and keeps the measured offset', () => {
    const jwt = signJwt({ iat: S - 600, exp: S - 300 });
    expect(parseSignIn({ accessToken: jwt, expiresIn: 60 }, arrival, 1_000)).toMatchObject({
      expiresAt: AT + 60_000,
      issuedAt: AT,
      serverOffsetMs: 1_000,
    });
  });

  it('expiresAt is local wall-clock ms', () => {
    expect(parseSignIn({ accessToken: 'opaque', expiresAt: AT + 90_000 }, arrival, null)).toMatchObject({
      expiresAt: AT + 90_000,
      issuedAt: AT,
    });
  });
});
