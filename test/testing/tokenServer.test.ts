/**
 * sessionchart/testing's token server in process: the tokens it mints on its own clock, its refresh-token rotation
 * and reuse rule, revocation, holding requests, answers a test chooses, and its counters. Faults are in faults.test.ts.
 */
import { describe, expect, it, vi } from 'vitest';
import { refreshContext, useServerClock } from './serverClock.js';
import { decodeJwt } from 'jose';
import { T0, createTokenServer, flushPromises, type RefreshCall } from 'sessionchart/testing';

useServerClock();
const context = refreshContext;
const codeOf = (error: unknown) => (error as { code?: unknown }).code;

describe('tokens', () => {
  it('mints HS256 JWTs with iat, exp, sid and jti on its own clock, synchronously under fake timers', () => {
    const server = createTokenServer({ lifeSeconds: 90, skewMs: 600_000 });
    const first = server.signIn();
    const second = server.signIn();
    const claims = decodeJwt(first.accessToken);
    expect(claims).toMatchObject({ iat: (T0 + 600_000) / 1000, exp: (T0 + 600_000) / 1000 + 90, sub: 'user-1' });
    expect(claims.sid).toEqual(expect.any(String));
    expect(decodeJwt(second.accessToken).sid).not.toBe(claims.sid);
    expect(decodeJwt(second.accessToken).jti).not.toBe(claims.jti);
    expect(first.refreshToken).toEqual(expect.any(String));
    expect(server.issued(first.accessToken)).toMatchObject({ sessionKey: claims.sid, expiresAt: T0 + 600_000 + 90_000 });
  });

  it('verifies its own tokens until they expire on its clock, and refuses revoked, unknown and forged ones', () => {
    const server = createTokenServer({ lifeSeconds: 60 });
    const { accessToken } = server.signIn({ sid: 's1', sub: 'ada' });
    expect(server.verify(accessToken)).toEqual({ ok: true, sid: 's1', sub: 'ada', jti: expect.any(String), exp: T0 / 1000 + 60 });
    expect(server.verify(accessToken, T0 + 60_000)).toEqual({ ok: false, reason: 'expired' });
    expect(server.verify(createTokenServer().signIn().accessToken)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(server.verify('not a token')).toEqual({ ok: false, reason: 'malformed' });
    server.revoke('s1');
    expect(server.verify(accessToken)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('keeps the user a session was signed in for: its refreshed tokens name the same sub', async () => {
    const server = createTokenServer({ subject: 'default-user' });
    const signedIn = server.signIn({ sub: 'ada' });
    const refreshed = await server.refresh(context(signedIn.refreshToken));
    expect(decodeJwt(refreshed.accessToken)).toMatchObject({ sub: 'ada', sid: decodeJwt(signedIn.accessToken).sid });
  });

  it('mints what a test asks for: a past iat, a skewed clock, no sid, an opaque token, a named refresh token or none', () => {
    const server = createTokenServer();
    expect(decodeJwt(server.signIn({ ageSeconds: 3_600 }).accessToken).iat).toBe(T0 / 1000 - 3_600);
    expect(decodeJwt(server.signIn({ skewMs: -60_000 }).accessToken).iat).toBe(T0 / 1000 - 60);
    const noSid = server.signIn({ sid: null, sub: 'bob' });
    expect(decodeJwt(noSid.accessToken).sid).toBeUndefined();
    expect(server.issued(noSid.accessToken)?.sessionKey).toBe('bob');
    expect(server.signIn({ opaque: true, sid: 's9', lifeSeconds: 30 })).toEqual({
      accessToken: expect.stringMatching(/^opaque-/),
      refreshToken: expect.any(String),
      expiresIn: 30,
      sessionKey: 's9',
    });
    expect(server.signIn({ refreshToken: 'rt-mine' }).refreshToken).toBe('rt-mine');
    expect(server.signIn({ refreshToken: false }).refreshToken).toBeUndefined();
    expect(createTokenServer({ refreshTokens: 'omit' }).signIn().refreshToken).toBeUndefined();
  });
});

describe('refresh tokens', () => {
  it('rotates the refresh token on every answer; the new access token keeps the session', async () => {
    const server = createTokenServer();
    const signedIn = server.signIn({ sid: 's1' });
    const answer = await server.refresh(context(signedIn.refreshToken));
    expect(answer.refreshToken).not.toBe(signedIn.refreshToken);
    expect(decodeJwt(answer.accessToken).sid).toBe('s1');
    const next = await server.refresh(context(answer.refreshToken));
    expect(decodeJwt(next.accessToken).sid).toBe('s1');
    expect(server.counters).toMatchObject({ requests: 2, granted: 2, replays: 0, refused: 0 });
  });

  it('revokes the whole session when a replaced refresh token is sent again (no grace window)', async () => {
    const server = createTokenServer();
    const { refreshToken } = server.signIn({ sid: 's1' });
    const { refreshToken: current } = await server.refresh(context(refreshToken));
    expect(codeOf(await server.refresh(context(refreshToken)).catch((error: unknown) => error))).toBe('auth');
    expect(server.session('s1')?.revoked).toBe(true);
    // The current one goes with it: the whole family is revoked.
    expect(codeOf(await server.refresh(context(current)).catch((error: unknown) => error))).toBe('auth');
    expect(server.counters).toMatchObject({ replays: 1, refused: 2 });
  });

  it('grants a replay inside the grace window with the current refresh token, and revokes after it', async () => {
    const server = createTokenServer({ reuseGraceMs: 10_000 });
    const { refreshToken } = server.signIn({ sid: 's1' });
    const { refreshToken: current } = await server.refresh(context(refreshToken));
    vi.setSystemTime(T0 + 10_000);
    expect((await server.refresh(context(refreshToken))).refreshToken).toBe(current);
    vi.setSystemTime(T0 + 10_001);
    expect(codeOf(await server.refresh(context(refreshToken)).catch((error: unknown) => error))).toBe('auth');
    expect(server.counters).toMatchObject({ replays: 2, granted: 2, refused: 1 });
  });

  it('refuses an unknown refresh token and one of a revoked session', async () => {
    const server = createTokenServer();
    const { refreshToken } = server.signIn({ sid: 's1' });
    expect(codeOf(await server.refresh(context('rt-made-up')).catch((error: unknown) => error))).toBe('auth');
    server.revoke('s1');
    expect(codeOf(await server.refresh(context(refreshToken)).catch((error: unknown) => error))).toBe('auth');
    expect(server.counters).toMatchObject({ refused: 2, replays: 0 });
  });

  it('rotates a session on the server: its next token carries a new sid', async () => {
    const server = createTokenServer();
    const { refreshToken } = server.signIn({ sid: 's1' });
    const rotated = server.rotateSession('s1');
    const answer = await server.refresh(context(refreshToken));
    expect(decodeJwt(answer.accessToken).sid).toBe(rotated);
    expect(server.session(rotated)).toBe(server.session('s1'));
  });
});

describe('requests', () => {
  it('holds requests unprocessed until released: one given up meanwhile spends nothing', async () => {
    const server = createTokenServer();
    server.holdRequests();
    const { refreshToken } = server.signIn({ sid: 's1' });
    const gaveUp = new AbortController();
    const abandoned = server.refresh(context(refreshToken, gaveUp.signal));
    abandoned.catch(() => {});
    const [call] = server.requests as RefreshCall[];
    expect(call).toMatchObject({ state: 'held', refreshToken, client: 'default', settled: false });
    expect(server.counters).toMatchObject({ requests: 1, inFlight: 1 });
    gaveUp.abort();
    await expect(abandoned).rejects.toMatchObject({ name: 'AbortError' });
    call!.release();
    const answer = server.refresh(context(refreshToken));
    server.requests[1]!.release();
    expect((await answer).accessToken).toEqual(expect.any(String));
    expect(server.counters).toMatchObject({ requests: 2, granted: 1, aborted: 1, replays: 0, inFlight: 0, maxInFlight: 1 });
  });

  it('lets a test answer a request itself: a token it describes, a fault, an error of its own or any value', async () => {
    const server = createTokenServer();
    server.holdRequests();
    const { refreshToken } = server.signIn({ sid: 's1' });
    const answers = [1, 2, 3, 4].map(() => server.refresh(context(refreshToken)).catch((error: unknown) => error));
    const calls = server.requests as RefreshCall[];
    const set = calls[0]!.respond({ sid: 's2', lifeSeconds: 5, refreshToken: 'rt-2' });
    calls[1]!.fail({ kind: '429', retryAfterSeconds: 7 });
    calls[2]!.fail(new TypeError('fetch failed'));
    calls[3]!.resolve({ accessToken: 'no expiry' });
    const [first, second, third, fourth] = await Promise.all(answers);
    expect(first).toEqual(set);
    expect(decodeJwt(set.accessToken)).toMatchObject({ sid: 's2', exp: T0 / 1000 + 5 });
    // The request's session rotated to s2 on the server: the same session, a new key.
    expect(server.session('s2')).toBe(server.session('s1'));
    expect(second).toMatchObject({ code: 'network', retryAfterMs: 7_000 });
    expect(third).toBeInstanceOf(TypeError);
    expect(fourth).toEqual({ accessToken: 'no expiry' });
  });

  it('still mints a late answer to a request its client gave up on (the server did process it), delivering nothing', async () => {
    const server = createTokenServer();
    server.holdRequests();
    const { refreshToken } = server.signIn({ sid: 's1' });
    const gaveUp = new AbortController();
    server.refresh(context(refreshToken, gaveUp.signal)).catch(() => {});
    gaveUp.abort();
    const call = server.requests[0]!;
    const late = call.respond();
    expect(call).toMatchObject({ delivered: false, outcome: { kind: 'aborted' } });
    expect(server.sessionOfRefreshToken(late.refreshToken!)).toBe(server.session('s1'));
  });

  it('labels requests by client, resolves the next one to arrive, and holds only the next one when asked', async () => {
    const server = createTokenServer();
    const { refreshToken } = server.signIn();
    const arriving = server.nextRequest();
    const held = server.holdNext();
    const answer = server.refreshFor('tab 2')(context(refreshToken));
    expect(await arriving).toBe(await held);
    expect(await held).toMatchObject({ client: 'tab 2', state: 'held' });
    const next = server.refresh(context('rt-unknown')).catch((error: unknown) => error);
    expect(codeOf(await next)).toBe('auth');
    (await held).release();
    expect((await answer).accessToken).toEqual(expect.any(String));
  });

  it('answers after its latency on the fake clock, counting requests in flight at once', async () => {
    const server = createTokenServer({ latencyMs: 200 });
    const sets = [server.signIn(), server.signIn()];
    const answers = sets.map((set) => server.refresh(context(set.refreshToken)));
    let settled = 0;
    answers.forEach((answer) => void answer.then(() => (settled += 1)));
    await flushPromises();
    expect(settled).toBe(0);
    expect(server.counters).toMatchObject({ inFlight: 2, maxInFlight: 2 });
    await vi.advanceTimersByTimeAsync(200);
    expect(settled).toBe(2);
    expect(server.counters).toMatchObject({ inFlight: 0, maxInFlight: 2, granted: 2 });
  });

  it('keeps the last `rememberRequests` requests (by default the last `remember`), counting every one', async () => {
    /** Refreshes three times in a row; returns the refresh tokens sent, in order. */
    const refreshThrice = async (server: ReturnType<typeof createTokenServer>) => {
      const sent: Array<string | undefined> = [];
      let { refreshToken } = server.signIn();
      for (let i = 0; i < 3; i += 1) {
        sent.push(refreshToken);
        ({ refreshToken } = await server.refresh(context(refreshToken)));
      }
      return sent;
    };
    const keptOf = (server: ReturnType<typeof createTokenServer>) => server.requests.map((request) => request.refreshToken);
    const byRemember = createTokenServer({ remember: 2 });
    const sentToIt = await refreshThrice(byRemember);
    expect(keptOf(byRemember)).toEqual(sentToIt.slice(1));
    const keepingOne = createTokenServer({ remember: 2, rememberRequests: 1 });
    const sentToOne = await refreshThrice(keepingOne);
    expect(keptOf(keepingOne)).toEqual(sentToOne.slice(2));
    const keepingNone = createTokenServer({ rememberRequests: 0 });
    await refreshThrice(keepingNone);
    expect(keptOf(keepingNone)).toEqual([]);
    expect(keepingNone.counters).toMatchObject({ requests: 3, granted: 3 });
  });

  it('tells its subscribers of each request as it arrives and as it settles', async () => {
    const server = createTokenServer();
    const seen: string[] = [];
    const unsubscribe = server.subscribe((event) => seen.push(`${event.type} ${event.request.id}`));
    await server.refresh(context(server.signIn().refreshToken));
    unsubscribe();
    await server.refresh(context('rt-unknown')).catch(() => {});
    const id = server.requests[0]!.id;
    expect(seen).toEqual([`request ${id}`, `settled ${id}`]);
  });
});
