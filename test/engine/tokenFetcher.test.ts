import { describe, expect, it, vi } from 'vitest';
import { createTokenFetcher, newSessionKey } from '../../src/engine/actors.js';
import { DEFAULT_SESSION_KEY_CLAIMS } from '../../src/engine/claims.js';
import { createEngineClock } from '../../src/engine/clock.js';
import { AuthError, InvalidTokenError, NetworkError } from '../../src/errors.js';
import type { RefreshContext, TokenSet } from '../../src/types.js';
import type { HeldToken, RefreshAnswer } from '../../machines/types.js';
import { T0, refreshInput, useEngineClock } from '../support/engineHarness.js';
import { signJwt } from '../../src/testing/index.js';

/** The request child's `refreshToken`: the user's `refresh`, its failures typed, its answer parsed. */

const S = T0 / 1000;

useEngineClock();

const signal = () => new AbortController().signal;

describe('createTokenFetcher', () => {
  const fetcher = (answer: (ctx: RefreshContext) => Promise<TokenSet>) =>
    createTokenFetcher(answer, DEFAULT_SESSION_KEY_CLAIMS, createEngineClock());

  it("calls refresh with the session, its refresh token, the reason and the machine's signal", async () => {
    const calls: RefreshContext[] = [];
    const given = signal();
    await fetcher(async (ctx) => {
      calls.push(ctx);
      return { accessToken: 'opaque', expiresIn: 60 };
    })(refreshInput({ reason: 'forced' }), given);
    expect(calls).toEqual([{ session: refreshInput().session, refreshToken: 'r1', reason: 'forced', signal: given }]);
  });

  it("counts the answer's life from when the request was sent, and says when it arrived", async () => {
    // The server mints the token 7 s after the request went out, and the answer arrives then.
    const slow = fetcher(
      () =>
        new Promise((resolve) =>
          setTimeout(() => resolve({ accessToken: signJwt({ sid: 's1', iat: S + 7, exp: S + 67 }) }), 7_000),
        ),
    );
    const answer = slow(refreshInput(), signal());
    await vi.advanceTimersByTimeAsync(7_000);
    expect(await answer).toMatchObject({
      token: { issuedAt: T0, expiresAt: T0 + 60_000, serverOffsetMs: 7_000, sessionKey: 's1' },
      receivedAt: T0 + 7_000,
    });
  });

  /** The failure a fetch resolved with (a fetch never rejects: its failures carry their time). */
  async function failureOf(answer: Promise<RefreshAnswer>) {
    const settled = await answer;
    if (!('error' in settled)) throw new Error('expected a failure');
    return settled;
  }

  it('types what refresh throws: auth stays auth, anything else is a network fault naming its cause', async () => {
    const auth = new AuthError();
    expect((await failureOf(fetcher(() => Promise.reject(auth))(refreshInput(), signal()))).error).toBe(auth);
    const bug = new TypeError("Cannot read properties of undefined (reading 'access_token')");
    const { error } = await failureOf(fetcher(() => Promise.reject(bug))(refreshInput(), signal()));
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ cause: bug });
    expect((error as Error).message).toContain(bug.message);
  });

  it('resolves an answer that is no token set as an InvalidTokenError, with the time it came', async () => {
    const slow = fetcher(() => new Promise((resolve) => setTimeout(() => resolve({} as TokenSet), 2_000)));
    const answer = failureOf(slow(refreshInput(), signal()));
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await answer).toMatchObject({ error: expect.any(InvalidTokenError), receivedAt: T0 + 2_000 });
  });

  it.each<[string, unknown, string | undefined]>([
    ['null', null, undefined],
    ['undefined (a refresh that returned nothing)', undefined, undefined],
    ['text', 'token', undefined],
    ['a refresh token with no access token', { refreshToken: 'r2' }, 'r2'],
    ['an empty refresh token', { accessToken: '', refreshToken: '' }, undefined],
    ['a numeric refresh token', { accessToken: '', refreshToken: 42 }, undefined],
  ])(
    'a malformed answer (%s) is an InvalidTokenError keeping only a usable refresh token, so the next request sends no spent or bogus one',
    async (_, answer, kept) => {
      const settled = await failureOf(fetcher(async () => answer as TokenSet)(refreshInput(), signal()));
      expect(settled.error).toBeInstanceOf(InvalidTokenError);
      expect(settled.refreshToken).toBe(kept);
      expect('refreshToken' in settled).toBe(kept !== undefined);
    },
  );

  it("gives an opaque token of a rotated session an identity of its own, and keeps other tokens' keys", async () => {
    const opaque = fetcher(async () => ({ accessToken: 'opaque', expiresIn: 60 }));
    const keyOf = async (answer: Promise<RefreshAnswer>) => ((await answer) as { token: HeldToken }).token.sessionKey;
    expect(await keyOf(opaque(refreshInput({ reason: 'rotated' }), signal()))).toMatch(/^session-[0-9a-f-]{36}$/);
    expect(await keyOf(opaque(refreshInput({ reason: 'expired' }), signal()))).toBeNull();
    const named = fetcher(async () => ({ accessToken: 'opaque', expiresIn: 60, sessionKey: 'given' }));
    expect(await keyOf(named(refreshInput({ reason: 'rotated' }), signal()))).toBe('given');
  });

  it('new session keys are unique', () => {
    expect(newSessionKey()).not.toBe(newSessionKey());
  });
});
