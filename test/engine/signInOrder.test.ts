import { describe, expect, it, vi } from 'vitest';
import type { SessionToken } from '../../machines/types.js';
import { shiftToken } from '../../src/engine/vault.js';
import { createSessionEngine, type SessionEngine } from '../../src/index.js';
import { createMemoryStorage } from '../../src/testing/index.js';
import { T0, createHarness, flush, useEngineClock, type Harness } from '../support/engineHarness.js';

useEngineClock();

/**
 * A sign-in's token is ordered among the tokens of its session by when the engine received it. A JWT's `iat`
 * counts whole seconds, on the server's clock: read as the issue time, it can fall before a token the origin
 * held earlier, so a late tab message of that older token (whose refresh token a refresh has since spent)
 * would look newer and replace it. The token's life still counts from its `iat`.
 */

/** The token the engine holds, as a tab message carries it. */
const heldToken = (engine: SessionEngine): SessionToken => {
  const { token, session } = engine.actor.getSnapshot().context;
  return { ...token!, sessionKey: session!.sessionKey };
};

const tellTabToken = (h: Harness, token: SessionToken) => {
  const { session } = h.engine.actor.getSnapshot().context;
  h.engine.actor.send({ type: 'tab.token', token, session: { ...session! }, now: Date.now() });
};

describe('a sign-in is newer than every token held before it', () => {
  it.each([
    ['in the same second', T0 + 1, T0 + 503, {}],
    ["when the server's clock is behind and no refresh has measured it", T0, T0 + 1_000, { skewMs: -600_000, lifeSeconds: 3_600 }],
  ])('an older opaque token of the session, told again after a JWT sign-in, is refused: %s', async (_, heldAt, signInAt, jwtOptions) => {
    const h = createHarness();
    vi.setSystemTime(heldAt);
    h.engine.signIn(h.issueOpaque({ expiresIn: 3_600, sessionKey: 's1', refreshToken: 'rt-old' }));
    const old = heldToken(h.engine);
    vi.setSystemTime(signInAt);
    const jwt = h.signIn({ refreshToken: 'rt-new', ...jwtOptions });
    tellTabToken(h, old);
    await flush();
    expect(h.peekToken()).toBe(jwt.accessToken);
    expect(h.engine.actor.getSnapshot().context.refreshToken).toBe('rt-new');
  });

  it('another tab takes a JWT signed in there after the opaque token both held, in the same second', async () => {
    const here = createHarness();
    // The other tab's engine: it only holds tokens here (its refreshes would never answer).
    const there = createSessionEngine({ refresh: () => new Promise(() => {}) });
    vi.setSystemTime(T0 + 1);
    const opaque = here.issueOpaque({ expiresIn: 60, sessionKey: 's1', refreshToken: 'rt-old' });
    here.engine.signIn(opaque);
    there.signIn(opaque);
    vi.setSystemTime(T0 + 503);
    const jwt = here.issue({ refreshToken: 'rt-new' });
    there.signIn(jwt);
    const told = heldToken(there);
    there.stop();
    tellTabToken(here, told);
    await flush();
    expect(here.peekToken()).toBe(jwt.accessToken);
    expect(here.engine.actor.getSnapshot().context.refreshToken).toBe('rt-new');
  });

  it('counts the life from iat: a cached token refreshes as early as it would have had it arrived when minted', async () => {
    const h = createHarness();
    vi.setSystemTime(T0 + 900);
    // Minted 5 s ago with a 20 s life: the refresh is due half a life (10 s) before its expiry, at T0 + 5 s.
    h.signIn({ lifeSeconds: 20, ageSeconds: 5 });
    expect(h.engine.actor.getSnapshot().context.token).toMatchObject({ issuedAt: T0 + 900, lifeStartsAt: T0 - 5_000, expiresAt: T0 + 15_000 });
    // The snapshot reports where the life counts from, as the Convex adapter reads it.
    expect(h.engine.getSnapshot().issuedAt).toBe(T0 - 5_000);
    await vi.advanceTimersByTimeAsync(4_099);
    expect(h.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls).toHaveLength(1);
  });

  it('keeps both times through the storage a reload reads, and across clocks', async () => {
    const storage = createMemoryStorage();
    const h = createHarness({ storage });
    vi.setSystemTime(T0 + 900);
    h.signIn({ lifeSeconds: 60, ageSeconds: 30 });
    await flush();
    h.engine.stop();
    // The reloaded page's engine, refreshing against nothing: it only reads what the storage kept.
    const reloaded = createSessionEngine({ refresh: () => new Promise(() => {}), storage });
    await flush();
    const held = reloaded.actor.getSnapshot().context.token!;
    reloaded.stop();
    expect(held).toMatchObject({ issuedAt: T0 + 900, lifeStartsAt: T0 - 30_000 });
    expect(shiftToken({ ...held, sessionKey: 's1' }, 5)).toMatchObject({ issuedAt: T0 + 905, lifeStartsAt: T0 - 29_995, expiresAt: T0 + 30_005 });
    const { lifeStartsAt: _, ...minted } = held;
    expect(shiftToken({ ...minted, sessionKey: 's1' }, 5)).not.toHaveProperty('lifeStartsAt');
  });
});
