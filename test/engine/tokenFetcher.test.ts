import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTokenFetcher, newSessionKey } from '../../src/engine/actors.js';
import { DEFAULT_SESSION_KEY_CLAIMS } from '../../src/engine/claims.js';
import { createEngineClock } from '../../src/engine/clock.js';
import { AuthError, InvalidTokenError, NetworkError } from '../../src/errors.js';
import type { RefreshContext, TokenSet } from '../../src/types.js';
import type { RefreshInput } from '../../machines/types.js';
import { signJwt } from '../support/tokens.js';

/** The request child's `refreshToken`: the user's `refresh`, its failures typed, its answer parsed. */

const T0 = Date.UTC(2025, 0, 1);
const S = T0 / 1000;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  vi.setSystemTime(T0);
});
afterEach(() => vi.useRealTimers());

const input = (overrides: Partial<RefreshInput> = {}): RefreshInput => ({
  session: { sessionKey: 's1', userId: 'u1', startedAt: T0 },
  refreshToken: 'r1',
  reason: 'expired',
  satisfiedAfter: 0,
  ...overrides,
});

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
    })(input({ reason: 'forced' }), given);
    expect(calls).toEqual([{ session: input().session, refreshToken: 'r1', reason: 'forced', signal: given }]);
  });

  it("counts the answer's life from when the request was sent, and says when it arrived", async () => {
    // The server mints the token 7 s after the request went out, and the answer arrives then.
    const slow = fetcher(
      () =>
        new Promise((resolve) =>
          setTimeout(() => resolve({ accessToken: signJwt({ sid: 's1', iat: S + 7, exp: S + 67 }) }), 7_000),
        ),
    );
    const answer = slow(input(), signal());
    await vi.advanceTimersByTimeAsync(7_000);
    expect(await answer).toMatchObject({
      token: { issuedAt: T0, expiresAt: T0 + 60_000, serverOffsetMs: 7_000, sessionKey: 's1' },
      receivedAt: T0 + 7_000,
    });
  });

  it('types what refresh throws: auth stays auth, anything else is a network fault naming its cause', async () => {
    const auth = new AuthError();
    await expect(fetcher(() => Promise.reject(auth))(input(), signal())).rejects.toBe(auth);
    const bug = new TypeError("Cannot read properties of undefined (reading 'access_token')");
    const failure = fetcher(() => Promise.reject(bug))(input(), signal());
    await expect(failure).rejects.toBeInstanceOf(NetworkError);
    await expect(failure).rejects.toMatchObject({ cause: bug });
    await expect(failure).rejects.toThrow(bug.message);
  });

  it('rejects an answer that is no token set with InvalidTokenError', async () => {
    await expect(fetcher(async () => ({}) as TokenSet)(input(), signal())).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it("gives an opaque token of a rotated session an identity of its own, and keeps other tokens' keys", async () => {
    const opaque = fetcher(async () => ({ accessToken: 'opaque', expiresIn: 60 }));
    expect((await opaque(input({ reason: 'rotated' }), signal())).token.sessionKey).toMatch(/^session-[0-9a-f-]{36}$/);
    expect((await opaque(input({ reason: 'expired' }), signal())).token.sessionKey).toBeNull();
    const named = fetcher(async () => ({ accessToken: 'opaque', expiresIn: 60, sessionKey: 'given' }));
    expect((await named(input({ reason: 'rotated' }), signal())).token.sessionKey).toBe('given');
  });

  it('new session keys are unique', () => {
    expect(newSessionKey()).not.toBe(newSessionKey());
  });
});
