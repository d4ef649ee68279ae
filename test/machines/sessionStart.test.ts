import { afterEach, describe, expect, it } from 'vitest';
import { sessionOf, nextTurn, startMachine, startRefreshing, token, type MachineHarness } from './machineHarness.js';

/** The statechart's start, sign-in, settling and sign-out, driven event by event with explicit times. */

const T = 1_000_000;
let m: MachineHarness;
afterEach(() => m.stop());

describe('boot', () => {
  it('a single tab starts signed out, online, asking nobody, its request child idle', () => {
    m = startMachine();
    expect(m.value()).toBe('signedOut');
    expect(m.requestState()).toBe('idle');
    expect(m.told).toEqual([]);
    expect(m.context()).toMatchObject({
      session: null,
      token: null,
      refreshToken: undefined,
      droppedToken: null,
      online: true,
      attempt: 0,
      reason: 'expired',
      error: null,
      lastRefreshAt: null,
      endedAt: null,
    });
  });

  it('starts offline when the input says so', () => {
    m = startMachine({ online: false });
    expect(m.context().online).toBe(false);
  });

  it('a tab that shares its session reads what is kept, asks the others, then starts signed out', async () => {
    m = startMachine({ shareTabs: true });
    expect(m.value()).toEqual({ restoring: 'reading' });
    await nextTurn();
    expect(m.value()).toEqual({ restoring: 'askingTabs' });
    expect(m.told).toEqual([{ type: 'announce.hello' }]);
    await m.endRestore();
    expect(m.value()).toBe('signedOut');
  });

  it("a restoring tab adopts another tab's session", () => {
    m = startMachine({ shareTabs: true });
    const theirs = sessionOf('s1', T - 5_000);
    m.send({ type: 'tab.token', token: token(T - 1_000), session: theirs, now: T });
    expect(m.value()).toBe('fresh');
    expect(m.context().session).toBe(theirs);
  });
});

describe('sign-in', () => {
  it('installs a session, tells the other tabs and judges the token fresh', () => {
    m = startMachine();
    m.signIn(T, { refreshToken: 'r1' });
    expect(m.value()).toBe('fresh');
    expect(m.context().session).toEqual({ sessionKey: 's1', userId: 'u1', startedAt: T });
    expect(m.told).toEqual([
      { type: 'announce.token', token: { ...token(T), refreshToken: 'r1' }, session: m.context().session },
    ]);
  });

  it('of the same session keeps the session object and stores the token', () => {
    m = startMachine();
    m.signIn(T);
    const session = m.context().session;
    m.signIn(T + 10_000);
    expect(m.context().session).toBe(session);
    expect(m.context().token).toEqual(token(T + 10_000));
  });

  it('of the very token held keeps the expiry measured when it first came', () => {
    m = startMachine();
    m.signIn(T);
    // The same string seen again later (an SDK's cache): a later issue time would extend its life.
    m.signIn(T + 30_000, { accessToken: `a-${T}` });
    expect(m.context().token).toMatchObject({ accessToken: `a-${T}`, issuedAt: T, expiresAt: T + 60_000 });
    expect(m.context().refreshToken).toBe(`r-${T + 30_000}`);
    expect(m.refreshTimers.at(-1)).toEqual({ at: T + 45_000, now: T + 30_000 });
  });

  it('of another session starts a new one', () => {
    m = startMachine();
    m.signIn(T);
    m.signIn(T + 10_000, { sessionKey: 's2' });
    expect(m.context().session).toEqual({ sessionKey: 's2', userId: 'u1', startedAt: T + 10_000 });
  });

  it("announces the session's key and the held refresh token with the token", () => {
    m = startMachine();
    m.signIn(T, { refreshToken: 'r1' });
    m.told.length = 0;
    m.signIn(T + 1_000, { refreshToken: undefined, sessionKey: 's1' });
    expect(m.told).toEqual([
      { type: 'announce.token', token: { ...token(T + 1_000), refreshToken: 'r1' }, session: m.context().session },
    ]);
  });
});

describe('settling judges a new token by the clock of the event that brought it', () => {
  it('fresh before the refresh is due', () => {
    m = startMachine();
    m.send({ type: 'user.signIn', token: token(T), now: T + 44_999 });
    expect(m.value()).toBe('fresh');
  });

  it('stale from the refresh lead on, while servable', () => {
    m = startMachine();
    m.send({ type: 'user.signIn', token: token(T), now: T + 45_000 });
    expect(m.value()).toBe('stale');
    m.stop();
    m = startMachine();
    m.send({ type: 'user.signIn', token: token(T), now: T + 54_999 });
    expect(m.value()).toBe('stale');
  });

  it('refreshing, for an expired token, once it is no longer servable', () => {
    m = startMachine();
    m.send({ type: 'user.signIn', token: token(T), now: T + 55_000 });
    expect(m.value()).toBe('refreshing');
    expect(m.requestState()).toEqual({ alone: 'awaitingAnswer' });
    expect(m.lastRefresh().input.reason).toBe('expired');
  });

  it('offline.waiting while the network is down, whatever the token', () => {
    m = startMachine({ online: false });
    m.signIn(T);
    expect(m.value()).toEqual({ offline: 'waiting' });
    expect(m.snapshot().hasTag('awaitingNetwork')).toBe(true);
  });
});

describe('sign-out', () => {
  it('ends the session from any state and tells the other tabs when', () => {
    m = startMachine();
    m.signIn(T, { refreshToken: 'r1' });
    m.send({ type: 'user.signOut', now: T + 5_000 });
    expect(m.value()).toBe('signedOut');
    expect(m.context()).toMatchObject({ session: null, token: null, refreshToken: undefined, endedAt: T + 5_000 });
    expect(m.told.at(-1)).toEqual({ type: 'announce.signOut', sessionKey: 's1', at: T + 5_000 });
  });

  it('without a session announces an empty key', () => {
    m = startMachine();
    m.send({ type: 'user.signOut', now: T });
    expect(m.told).toEqual([{ type: 'announce.signOut', sessionKey: '', at: T }]);
  });

  it('aborts a refresh in flight, whose late answer never arrives', async () => {
    m = startRefreshing(T, T + 60_000);
    const { signal } = m.lastRefresh();
    m.send({ type: 'user.signOut', now: T + 60_001 });
    expect(signal.aborted).toBe(true);
    expect(m.requestState()).toBe('idle');
    await m.answer(T + 60_000);
    expect(m.value()).toBe('signedOut');
    expect(m.context()).toMatchObject({ session: null, token: null, refreshToken: undefined, lastRefreshAt: null });
  });
});

describe('the network seen from any state', () => {
  it('is recorded while signed out', () => {
    m = startMachine();
    m.send({ type: 'env.offline' });
    expect(m.context().online).toBe(false);
    m.send({ type: 'env.online', now: T });
    expect(m.context().online).toBe(true);
    expect(m.value()).toBe('signedOut');
  });
});
