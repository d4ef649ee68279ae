import { afterEach, describe, expect, it } from 'vitest';
import { sessionOf, startMachine, startRefreshing, token, type MachineHarness } from './machineHarness.js';

/** Messages from other tabs of the origin, as machine events. */

const T = 1_000_000;
let m: MachineHarness;
afterEach(() => m.stop());

const tabToken = (issuedAt: number, sessionKey = 's1', startedAt = T) => ({
  type: 'tab.token' as const,
  token: token(issuedAt, { sessionKey }),
  session: sessionOf(sessionKey, startedAt),
  now: issuedAt + 1,
});

describe('tab.token', () => {
  it("stores a newer token of this session, keeping this tab's session object and saying nothing back", () => {
    m = startMachine();
    m.signIn(T);
    const session = m.context().session;
    m.told.length = 0;
    m.send(tabToken(T + 10_000));
    expect(m.context().token).toEqual(token(T + 10_000));
    expect(m.context().session).toBe(session);
    expect(m.told).toEqual([]);
  });

  it('of the very token held (issued later by its clock) keeps the expiry measured when it first came', () => {
    m = startMachine();
    m.signIn(T);
    m.send({ ...tabToken(T + 10_000), token: token(T + 10_000, { accessToken: `a-${T}` }) });
    expect(m.context().token).toMatchObject({ accessToken: `a-${T}`, issuedAt: T, expiresAt: T + 60_000 });
  });

  it('ignores an older token of this session', () => {
    m = startMachine();
    m.signIn(T);
    m.send(tabToken(T - 1_000));
    expect(m.context().token).toEqual(token(T));
  });

  it('judges the stored token at once: an expired one is refreshed', () => {
    m = startMachine();
    m.signIn(T);
    m.send({ ...tabToken(T + 1_000), now: T + 61_000 });
    expect(m.value()).toBe('refreshing');
  });

  it('adopts a session another tab started later', () => {
    m = startMachine();
    m.signIn(T);
    const theirs = tabToken(T + 2_000, 's2', T + 2_000);
    m.send(theirs);
    expect(m.context().session).toBe(theirs.session);
    expect(m.context().token).toEqual(theirs.token);
  });

  it('ignores a session another tab started earlier or at the same time', () => {
    m = startMachine();
    m.signIn(T);
    m.send(tabToken(T + 2_000, 's0', T - 1));
    m.send(tabToken(T + 2_000, 's0', T));
    expect(m.context().session?.sessionKey).toBe('s1');
  });

  it('adopts a session another tab started anew under the same key, and ignores an older one of that key', () => {
    m = startMachine();
    m.signIn(T);
    const before = m.context().session;
    m.send(tabToken(T + 2_000, 's1', T - 1));
    expect(m.context().session).toBe(before);
    expect(m.context().token).toEqual(token(T));
    const anew = tabToken(T + 2_000, 's1', T + 2_000);
    m.send(anew);
    expect(m.context().session).toBe(anew.session);
    expect(m.context().token).toEqual(anew.token);
  });

  it('after a sign-out, adopts only a session started after it', () => {
    m = startMachine();
    m.signIn(T);
    m.send({ type: 'user.signOut', now: T + 5_000 });
    m.send(tabToken(T + 6_000, 's1', T));
    expect(m.value()).toBe('signedOut');
    m.send(tabToken(T + 6_000, 's2', T + 5_001));
    expect(m.value()).toBe('fresh');
    expect(m.context().session?.sessionKey).toBe('s2');
  });
});

describe('tab.refreshToken: a refresh token another tab got without its access token (a rotation withdrew the answer)', () => {
  const told = (at: number, session = sessionOf('s1', T)) => ({ type: 'tab.refreshToken' as const, session, refreshToken: 'r-told', at });

  it('of this session, received after the held token was issued: held, and the next request is sent with it', () => {
    m = startMachine();
    m.signIn(T);
    m.send(told(T + 1));
    expect(m.context().refreshToken).toBe('r-told');
    m.send({ type: 'clock.check', now: T + 56_000 });
    expect(m.lastRefresh().input.refreshToken).toBe('r-told');
  });

  it("kept in this engine's storage only (toTabs false): the tabs' store is that tab's to write", () => {
    m = startMachine();
    m.signIn(T);
    m.vault.length = 0;
    m.send(told(T + 1));
    expect(m.vault).toHaveLength(1);
    expect(m.vault[0]).toMatchObject({ type: 'vault.save', toTabs: false, stored: { refreshToken: 'r-told' } });
  });

  it('ignored when received when the held token was issued, or before: that token may be the newer', () => {
    m = startMachine();
    m.signIn(T);
    m.vault.length = 0;
    m.send(told(T));
    m.send(told(T - 1));
    expect(m.context().refreshToken).toBe(`r-${T}`);
    expect(m.vault).toEqual([]);
  });

  it('ignored for another instance (the key started anew, another key) or with no session held', () => {
    m = startMachine();
    m.send(told(T + 1));
    expect(m.context().refreshToken).toBeUndefined();
    m.signIn(T);
    m.send(told(T + 1, sessionOf('s1', T + 1)));
    m.send(told(T + 1, sessionOf('s2', T)));
    expect(m.context().refreshToken).toBe(`r-${T}`);
  });

  it('with no token held (a rotation dropped it), taken whenever it was received', () => {
    m = startMachine();
    m.signIn(T);
    m.send({ type: 'user.rotate', now: T + 10_000 });
    m.send(told(T - 5_000));
    expect(m.context().refreshToken).toBe('r-told');
  });
});

describe('tab.signOut and tab.rotate', () => {
  it('a sign-out of this session ends it without echoing it to the tabs', () => {
    m = startMachine();
    m.signIn(T);
    m.told.length = 0;
    m.send({ type: 'tab.signOut', sessionKey: 's1', at: T + 3_000 });
    expect(m.value()).toBe('signedOut');
    expect(m.context().endedAt).toBe(T + 3_000);
    expect(m.told).toEqual([]);
  });

  it('a sign-out of this session aborts the request in flight', () => {
    m = startRefreshing(T, T + 60_000);
    const { signal } = m.lastRefresh();
    m.send({ type: 'tab.signOut', sessionKey: 's1', at: T + 60_001 });
    expect(signal.aborted).toBe(true);
    expect(m.requestState()).toBe('idle');
  });

  it('a sign-out of another session changes nothing', () => {
    m = startMachine();
    m.signIn(T);
    m.send({ type: 'tab.signOut', sessionKey: 's2', at: T + 3_000 });
    expect(m.value()).toBe('fresh');
  });

  it('a rotation of this session drops the token and fetches, without echoing it', () => {
    m = startMachine();
    m.signIn(T);
    m.told.length = 0;
    m.send({ type: 'tab.rotate', sessionKey: 's1', at: T + 3_000 });
    expect(m.value()).toEqual({ rotated: 'fetching' });
    expect(m.context()).toMatchObject({ token: null, droppedToken: token(T), reason: 'rotated' });
    expect(m.told).toEqual([]);
  });

  it('a rotation of this session with the network down waits for it', () => {
    m = startMachine();
    m.signIn(T);
    m.send({ type: 'env.offline' });
    m.send({ type: 'tab.rotate', sessionKey: 's1', at: T + 3_000 });
    expect(m.value()).toEqual({ rotated: 'waiting' });
    expect(m.context().token).toBeNull();
    expect(m.refreshes).toHaveLength(0);
  });

  it('a rotation of another session changes nothing', () => {
    m = startMachine();
    m.signIn(T);
    m.send({ type: 'tab.rotate', sessionKey: 's2', at: T + 3_000 });
    expect(m.value()).toBe('fresh');
  });
});

describe('tab.hello: a new tab asks for the session', () => {
  it('is answered with the held token while it is servable', () => {
    m = startMachine();
    m.signIn(T, { refreshToken: 'r1' });
    m.told.length = 0;
    m.send({ type: 'tab.hello', now: T + 54_999 });
    expect(m.told).toEqual([
      { type: 'announce.token', token: { ...token(T), refreshToken: 'r1' }, session: m.context().session },
    ]);
  });

  it('is not answered with a token past its leeway, nor without a session', () => {
    m = startMachine();
    m.send({ type: 'tab.hello', now: T });
    m.signIn(T);
    m.told.length = 0;
    m.send({ type: 'tab.hello', now: T + 55_000 });
    expect(m.told).toEqual([]);
  });
});
