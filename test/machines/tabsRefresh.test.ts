import { afterEach, describe, expect, it } from 'vitest';
import type { StoreReading } from '../../machines/types.js';
import { nextTurn, sessionOf, startMachine, token, type MachineHarness } from './machineHarness.js';

/**
 * The session machine of a tab that shares its session, with its request child under the origin's lock: what the
 * child finds in the store (another tab's token, another tab's failure) reaches the session as its request's
 * answer or failure, and the lock goes with it. The child's own steps: requestUnderLock, requestHandOff.
 */

const T = 1_000_000;
const STALE = T + 45_000;
let m: MachineHarness;
afterEach(() => m.stop());

/** Signed in at STALE with the token issued at T: its refresh waits for the lock, granted 100 ms later. */
async function refreshingUnderLock(waited = false) {
  m = startMachine({ shareTabs: true });
  m.send({ type: 'user.signIn', token: token(T), now: STALE });
  await m.grantTurn();
  expect(m.value()).toBe('refreshing');
  m.locks.at(-1)!.grant(STALE + 100, waited);
}

async function readStore(reading: StoreReading) {
  m.reads.at(-1)!.resolve(reading);
  await nextTurn();
}

describe('a refresh under the lock', () => {
  it("takes a newer token of this session another tab stored: stored and served, nothing sent, the lock let go", async () => {
    await refreshingUnderLock();
    const session = m.context().session!;
    const theirs = token(STALE - 1_000, { refreshToken: 'r-theirs' });
    await readStore({ newest: { session: { ...session }, token: theirs, refreshToken: 'r-theirs' }, failure: null, now: STALE + 200 });
    expect(m.value()).toBe('fresh');
    expect(m.context()).toMatchObject({ token: theirs, refreshToken: 'r-theirs', lastRefreshAt: STALE + 200 });
    expect(m.context().session).toBe(session);
    expect(m.refreshes).toEqual([]);
    expect(m.locks.at(-1)!.released()).toBe(true);
  });

  it("shares the failure of the holder it queued behind: backs off firmly for the Retry-After, sending nothing", async () => {
    await refreshingUnderLock(true);
    await readStore({
      newest: null,
      failure: { at: STALE + 50, sessionKey: 's1', code: 'network', retryAfterMs: 5_000 },
      now: STALE + 200,
    });
    expect(m.value()).toEqual({ offline: { backingOff: 'firm' } });
    expect(m.context()).toMatchObject({ attempt: 1, retryAfterMs: 4_850 });
    expect(m.context().error?.code).toBe('network');
    expect(m.refreshes).toEqual([]);
  });

  it("sends the newest stored refresh token, and its answer's replaces the one held", async () => {
    await refreshingUnderLock();
    const session = m.context().session!;
    await readStore({ newest: { session, token: token(T, { refreshToken: 'r-newest' }), refreshToken: 'r-newest' }, failure: null, now: STALE + 200 });
    expect(m.lastRefresh().input.refreshToken).toBe('r-newest');
    await m.answer(STALE, { refreshToken: 'r-next' }, STALE + 900);
    expect(m.tokenWrites.map((write) => write.input.refreshToken)).toEqual(['r-next']);
    expect(m.value()).toBe('fresh');
    expect(m.context().refreshToken).toBe('r-next');
  });

  it('a sign-out while the lock is asked for lets it go', async () => {
    await refreshingUnderLock();
    m.send({ type: 'user.signOut', now: STALE + 150 });
    expect(m.requestState()).toBe('idle');
    expect(m.locks.at(-1)!.released()).toBe(true);
  });
});

describe('a rotation under the lock', () => {
  it("takes a session another tab started after the rotated one: adopted, nothing sent", async () => {
    m = startMachine({ shareTabs: true });
    m.signIn(T);
    m.send({ type: 'user.rotate', now: T + 10_000 });
    m.locks.at(-1)!.grant(T + 10_100, false);
    const later = { sessionKey: 's2', userId: 'u1', startedAt: T + 10_050 };
    const theirs = token(T + 10_050, { sessionKey: 's2' });
    await readStore({ newest: { session: later, token: theirs, refreshToken: 'r-newest' }, failure: null, now: T + 10_200 });
    expect(m.value()).toBe('fresh');
    expect(m.context().session).toEqual(later);
    // The session's newest refresh token is the one stored beside the token.
    expect(m.context().token).toEqual({ ...theirs, refreshToken: 'r-newest' });
    expect(m.context().refreshToken).toBe('r-newest');
    expect(m.refreshes).toEqual([]);
  });
});

describe("what another tab told reaches the lock turn, though the store lacks it (that tab's write failed)", () => {
  /** What the store still holds: the session's token issued at T, with its refresh token. */
  const olderStored = () => ({ session: m.context().session!, token: token(T), refreshToken: `r-${T}` });

  it('a newer token of this session, told while the lock is held, answers the refresh: nothing sent', async () => {
    await refreshingUnderLock();
    const theirs = token(STALE - 1_000, { refreshToken: 'r-theirs' });
    m.send({ type: 'tab.token', token: theirs, session: m.context().session!, now: STALE + 150 });
    await readStore({ newest: olderStored(), failure: null, now: STALE + 200 });
    expect(m.refreshes).toEqual([]);
    expect(m.value()).toBe('fresh');
    expect(m.context().refreshToken).toBe('r-theirs');
  });

  it('a refresh token told while the lock is held is the one sent', async () => {
    await refreshingUnderLock();
    m.send({ type: 'tab.refreshToken', session: m.context().session!, refreshToken: 'r-told', at: STALE + 150 });
    await readStore({ newest: olderStored(), failure: null, now: STALE + 200 });
    expect(m.lastRefresh().input.refreshToken).toBe('r-told');
  });

  it.each([
    ['of this session', () => m.context().session!],
    ['of a session another tab started since', () => sessionOf('s2', T + 1_000)],
  ])("a token %s told before a rotation: the rotation's fetch is sent with its refresh token, not an older one stored", async (_, told) => {
    m = startMachine({ shareTabs: true });
    m.signIn(T);
    const session = told();
    const { sessionKey } = session;
    m.send({ type: 'tab.token', token: token(T + 5_000, { sessionKey, refreshToken: 'r-told' }), session, now: T + 5_000 });
    m.send({ type: 'user.rotate', now: T + 10_000 });
    m.locks.at(-1)!.grant(T + 10_100, false);
    await readStore({ newest: { session, token: token(T + 1_000, { sessionKey }), refreshToken: 'r-older' }, failure: null, now: T + 10_200 });
    expect(m.lastRefresh().input.refreshToken).toBe('r-told');
  });
});
