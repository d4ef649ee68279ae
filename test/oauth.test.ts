import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOAuthRefresh } from '../src/oauth/index.js';
import { SessionError } from '../src/errors.js';
import { createSessionEngine } from '../src/index.js';
import type { RefreshContext } from '../src/types.js';
import { startOidcServer, type OidcServer } from './support/oidcServer.js';

const context = (refreshToken: string | undefined, signal = new AbortController().signal): RefreshContext => ({
  session: null,
  refreshToken,
  reason: 'stale',
  signal,
});

/** The rejection of `promise`, checked to be one of ours and free of the given secrets. */
async function failure(promise: Promise<unknown>, ...secrets: string[]): Promise<SessionError> {
  const error: unknown = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(SessionError);
  for (const secret of secrets) expect(String(error)).not.toContain(secret);
  return error as SessionError;
}

describe('createOAuthRefresh against oidc-provider', () => {
  let server: OidcServer;
  const refreshFor = () =>
    createOAuthRefresh({ issuer: server.issuer, clientId: server.clientId, allowInsecureRequests: true });

  beforeAll(async () => {
    server = await startOidcServer({ accessTokenTtl: 30 });
  });
  afterAll(() => server.stop());

  it('rotates the refresh token on each refresh and never sends a used one again', async () => {
    const refresh = refreshFor();
    let { refreshToken } = await server.signIn();
    const sent: string[] = [];
    const logged = server.refreshes().length;
    for (let i = 0; i < 6; i += 1) {
      const tokens = await refresh(context(refreshToken));
      expect(tokens.accessToken).toEqual(expect.any(String));
      expect(tokens.expiresIn).toBe(30);
      expect(tokens.refreshToken).not.toBe(refreshToken);
      sent.push(refreshToken);
      refreshToken = tokens.refreshToken as string;
    }
    // The provider saw each token exactly once, in order, and accepted every one.
    expect(server.refreshes().slice(logged)).toEqual(sent.map((token) => ({ refreshToken: token, ok: true })));
    expect(new Set(sent).size).toBe(sent.length);
  });

  it('a replayed refresh token is refused and the provider revokes the whole family', async () => {
    const refresh = refreshFor();
    const { refreshToken: first } = await server.signIn();
    const { refreshToken: newest } = await refresh(context(first));
    expect((await failure(refresh(context(first)), first)).code).toBe('auth');
    expect((await failure(refresh(context(newest)), newest as string)).code).toBe('auth');
  });

  it('a revoked grant is refused', async () => {
    const refresh = refreshFor();
    const { refreshToken } = await refresh(context((await server.signIn()).refreshToken));
    await server.revokeGrant(refreshToken as string);
    expect((await failure(refresh(context(refreshToken)))).code).toBe('auth');
  });

  it('an engine on a revoked grant ends its session cleanly: the forced refresh answers null, nothing is served', async () => {
    const signedIn = await server.signIn();
    const engine = createSessionEngine({ refresh: refreshFor(), broadcast: false });
    try {
      engine.signIn({ accessToken: signedIn.accessToken, refreshToken: signedIn.refreshToken, expiresIn: signedIn.expiresIn });
      expect(await engine.getToken()).toBe(signedIn.accessToken);
      await server.revokeGrant(signedIn.refreshToken);

      expect(await engine.getToken({ forceRefresh: true })).toBeNull();
      expect(engine.getSnapshot()).toMatchObject({ status: 'signedOut', sessionKey: null });
      expect(engine.getSnapshot().error?.code).toBe('auth');
      expect(engine.peekToken()).toBeNull();
    } finally {
      engine.stop();
    }
  });

  it('a stopped provider is a network fault, and refreshing works again once it is back', async () => {
    const discovered = refreshFor();
    const undiscovered = refreshFor();
    let { refreshToken } = await discovered(context((await server.signIn()).refreshToken));
    await server.stop();
    try {
      expect((await failure(discovered(context(refreshToken)))).code).toBe('network');
      // A failed discovery is a network fault too, and is retried on the next call.
      expect((await failure(undiscovered(context(refreshToken)))).code).toBe('network');
    } finally {
      await server.restart();
    }
    ({ refreshToken } = await discovered(context(refreshToken)));
    expect((await undiscovered(context(refreshToken))).accessToken).toEqual(expect.any(String));
  });
});

describe('createOAuthRefresh against a fixed token endpoint', () => {
  const TOKEN = 'rt-secret-value';
  type Reply = (res: http.ServerResponse) => void;
  let reply: Reply;
  let last: { headers: http.IncomingHttpHeaders; body: URLSearchParams } | undefined;
  let endpoint: string;
  const stub = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      last = { headers: req.headers, body: new URLSearchParams(body) };
      reply(res);
    });
  });
  const json = (status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): Reply => (res) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  const refresh = (options: { clientSecret?: string; scope?: string } = {}) =>
    createOAuthRefresh({ tokenEndpoint: endpoint, clientId: 'app', allowInsecureRequests: true, ...options });

  beforeAll(async () => {
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(stub.address() as AddressInfo).port}/oauth/token`;
  });
  afterAll(async () => {
    const closed = new Promise((resolve) => stub.close(resolve));
    stub.closeAllConnections();
    await closed;
  });

  it.each<[string, string, Reply, (number | undefined)?]>([
    ['500', 'network', json(500, { error: 'server_error' })],
    ['502 without a body', 'network', (res) => res.writeHead(502).end()],
    ['429 with Retry-After seconds', 'network', json(429, {}, { 'retry-after': '7' }), 7_000],
    ['408', 'network', (res) => res.writeHead(408).end()],
    ['401 without a body', 'auth', (res) => res.writeHead(401).end()],
    ['401 invalid_client', 'auth', json(401, { error: 'invalid_client' })],
    ['400 invalid_grant', 'auth', json(400, { error: 'invalid_grant' })],
    ['400 unauthorized_client', 'auth', json(400, { error: 'unauthorized_client' })],
    ['invalid JSON', 'invalid_token', (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"access')],
    ['no access_token', 'invalid_token', json(200, { token_type: 'Bearer', refresh_token: 'rt-new-secret' })],
    ['an unknown token_type', 'invalid_token', json(200, { access_token: 'at', token_type: 'mac' })],
    ['a bad expires_in', 'invalid_token', json(200, { access_token: 'at', token_type: 'Bearer', expires_in: 'soon' })],
  ])('maps %s to %s', async (_name, code, handler, retryAfterMs) => {
    reply = handler;
    const error = await failure(refresh()(context(TOKEN)), TOKEN, 'rt-new-secret');
    expect(error.code).toBe(code);
    if (code === 'network') expect(error).toHaveProperty('retryAfterMs', retryAfterMs);
  });

  it('reads a Retry-After HTTP date on 503', async () => {
    reply = (res) => res.writeHead(503, { 'retry-after': new Date(Date.now() + 20_000).toUTCString() }).end();
    const error = await failure(refresh()(context(TOKEN)));
    expect(error.code).toBe('network');
    expect(error).toHaveProperty('retryAfterMs', expect.closeTo(19_500, -3));
  });

  it('keeps the refresh token it used when the server sends none, and omits an absent expiry', async () => {
    reply = json(200, { access_token: 'at-1', token_type: 'Bearer', id_token: 'not-validated' });
    expect(await refresh()(context(TOKEN))).toEqual({ accessToken: 'at-1', refreshToken: TOKEN });
  });

  it('authenticates a confidential client with client_secret_basic and sends the scope', async () => {
    reply = json(200, { access_token: 'at-2', token_type: 'bearer', refresh_token: 'rt-2', expires_in: 60 });
    const tokens = await refresh({ clientSecret: 's3cret', scope: 'openid api' })(context(TOKEN));
    expect(tokens).toEqual({ accessToken: 'at-2', refreshToken: 'rt-2', expiresIn: 60 });
    expect(last?.headers.authorization).toBe(`Basic ${Buffer.from('app:s3cret').toString('base64')}`);
    expect(Object.fromEntries(last?.body ?? [])).toEqual({
      grant_type: 'refresh_token',
      refresh_token: TOKEN,
      scope: 'openid api',
    });
  });

  it('without a refresh token fails with an auth error and sends nothing', async () => {
    last = undefined;
    expect((await failure(refresh()(context(undefined)))).code).toBe('auth');
    expect(last).toBeUndefined();
  });

  it('an abort rejects promptly, in flight or before the call', async () => {
    reply = () => {}; // hangs until the server closes
    const controller = new AbortController();
    const started = Date.now();
    const pending = refresh()(context(TOKEN, controller.signal));
    setTimeout(() => controller.abort(), 50);
    expect((await failure(pending)).code).toBe('aborted');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect((await failure(refresh()(context(TOKEN, controller.signal)))).code).toBe('aborted');
  });

  it('rejects a configuration without an endpoint or with plain http', () => {
    expect(() => createOAuthRefresh({ clientId: 'app' })).toThrow(TypeError);
    expect(() => createOAuthRefresh({ tokenEndpoint: endpoint, clientId: 'app' })).toThrow(TypeError);
  });
});
