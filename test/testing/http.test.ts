/**
 * sessionchart/testing's token server over HTTP (node:http), as browser and end-to-end tests reach it: OAuth 2.0
 * token responses for the refresh_token grant (form-encoded or JSON), sign-in, faults, and a client that gives up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenHandler, createTokenServer, listen, type Listening, type TokenServer } from 'sessionchart/testing';

let served: Listening | undefined;
afterEach(() => served?.close());

async function start(): Promise<{ server: TokenServer; url: string }> {
  const server = createTokenServer({ lifeSeconds: 120 });
  served = await listen(createTokenHandler(server));
  return { server, url: served.url };
}

const postForm = (url: string, fields: Record<string, string>, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  fetch(url, { method: 'POST', body: new URLSearchParams(fields), headers, signal });

describe('the token server over HTTP', () => {
  it('signs in and refreshes with OAuth 2.0 token responses, rotating the refresh token', async () => {
    const { server, url } = await start();
    const signedIn = await (await postForm(`${url}/signin`, { username: 'ada' })).json();
    expect(signedIn).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 120, refresh_token: expect.any(String) });
    expect(server.verify(signedIn.access_token)).toMatchObject({ ok: true, sub: 'ada' });

    const refreshed = await postForm(`${url}/token`, { grant_type: 'refresh_token', refresh_token: signedIn.refresh_token }, { 'x-client': 'tab-1' });
    expect(refreshed.status).toBe(200);
    expect(refreshed.headers.get('cache-control')).toBe('no-store');
    const body = await refreshed.json();
    expect(body.refresh_token).not.toBe(signedIn.refresh_token);
    expect(server.requests[0]).toMatchObject({ client: 'tab-1', refreshToken: signedIn.refresh_token, delivered: true });

    const replayed = await fetch(`${url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: signedIn.refresh_token }),
    });
    expect([replayed.status, await replayed.json()]).toEqual([400, { error: 'invalid_grant' }]);
    expect(server.counters).toMatchObject({ requests: 2, replays: 1, signIns: 1 });
  });

  it('answers a 429 with Retry-After, refuses another grant type, and leaves other routes to the next handler', async () => {
    const { server, url } = await start();
    server.failNext({ kind: '429', retryAfterSeconds: 12 });
    const limited = await postForm(`${url}/token`, { grant_type: 'refresh_token', refresh_token: 'rt' });
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '12']);
    expect((await postForm(`${url}/token`, { grant_type: 'password' })).status).toBe(400);
    expect((await fetch(`${url}/elsewhere`)).status).toBe(404);
    let passedOn = false;
    createTokenHandler(server)({ method: 'GET', url: '/page.js' } as never, {} as never, () => (passedOn = true));
    expect(passedOn).toBe(true);
  });

  it('drops the connection when the server is down', async () => {
    const { server, url } = await start();
    server.fault = { kind: 'down' };
    await expect(postForm(`${url}/token`, { refresh_token: 'rt' })).rejects.toBeInstanceOf(TypeError);
  });

  it('aborts a request whose client closes its connection: a hung request spends nothing', async () => {
    const { server, url } = await start();
    const signedIn = server.signIn();
    server.failNext({ kind: 'hang' });
    const gaveUp = new AbortController();
    const arrived = server.nextRequest();
    const hung = postForm(`${url}/token`, { refresh_token: signedIn.refreshToken! }, {}, gaveUp.signal);
    const request = await arrived;
    gaveUp.abort();
    await expect(hung).rejects.toMatchObject({ name: 'AbortError' });
    await expect.poll(() => request.outcome).toEqual({ kind: 'aborted' });
    expect((await postForm(`${url}/token`, { refresh_token: signedIn.refreshToken! })).status).toBe(200);
  });
});
