/**
 * sessionchart/fetch against a real bearer-token API (node:http) and a real engine whose `refresh` is
 * sessionchart/oauth's against sessionchart/testing's token server over HTTP: one shared refresh for a burst of
 * 401s, replayed bodies, no loops, and the caller's signal. The engine, fetch and oauth are imported from the
 * built package (`npm run build` first).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSessionEngine, type SessionEngine } from 'sessionchart';
import { createAuthFetch } from 'sessionchart/fetch';
import { startApiServer, type ApiRequest, type ApiServer } from './support/apiServer.js';

/** One body of each kind `fetch` can send twice, and the text the API should receive for it. */
function bodyOf(n: number): { body: BodyInit; expected: string } {
  const bytes = (text: string) => new TextEncoder().encode(text);
  const form = new FormData();
  form.append('n', `${n}`);
  form.append('file', new Blob([`file ${n}`]), 'part.txt');
  const kinds = [
    () => ({ body: `text ${n}`, expected: `text ${n}` }),
    () => ({ body: new URLSearchParams({ n: `${n}`, q: 'a b&c' }), expected: `n=${n}&q=a+b%26c` }),
    () => ({ body: form, expected: `n=${n}&file=part.txt:file ${n}` }),
    () => ({ body: new Blob([`blob ${n}`]), expected: `blob ${n}` }),
    () => ({ body: bytes(`buffer ${n}`).buffer as ArrayBuffer, expected: `buffer ${n}` }),
    // A view onto the middle of its buffer: only the viewed bytes are the body.
    () => ({ body: bytes(`[[view ${n}]]`).subarray(2, -2), expected: `view ${n}` }),
  ];
  return kinds[n % kinds.length]!();
}

/** What the API received, as text; a multipart body as its parsed fields (boundaries differ per send). */
async function receivedText({ headers, body }: Pick<ApiRequest, 'headers' | 'body'>): Promise<string> {
  const contentType = headers['content-type'] ?? '';
  if (!contentType.startsWith('multipart/form-data')) return body.toString('utf8');
  const form = await new Response(new Uint8Array(body), { headers: { 'content-type': contentType } }).formData();
  const fields = [...form].map(async ([key, value]) =>
    typeof value === 'string' ? `${key}=${value}` : `${key}=${value.name}:${await value.text()}`,
  );
  return (await Promise.all(fields)).join('&');
}

const sentBy = (api: ApiServer, n: string) => api.requests.filter((request) => request.n === n);
const tokensAndStatuses = (requests: readonly ApiRequest[]) => requests.map(({ token, status }) => ({ token, status }));

describe('createAuthFetch with a real engine and API', () => {
  let api: ApiServer;
  let engine: SessionEngine;
  let first: string;

  beforeEach(async () => {
    api = await startApiServer();
    engine = createSessionEngine({ refresh: api.refresh });
    engine.signIn(api.tokens.signIn());
    first = engine.peekToken()!;
  });
  afterEach(async () => {
    engine.stop();
    await api.close();
  });

  it('answers 20 concurrent 401s for one token with one refresh and 20 retries, every body intact', async () => {
    api.revoke(first);
    const refresh = api.tokens.holdNext();
    const authFetch = createAuthFetch(engine);
    const cases = Array.from({ length: 20 }, (_, n) => bodyOf(n));
    const responses = Promise.all(
      cases.map(({ body }, n) => authFetch(api.url(`/api/echo?n=${n}`), { method: 'POST', body })),
    );
    // The refresh answers only once the API has refused all 20: each of them asks the engine while it is out.
    await api.until(() => api.requests.filter((request) => request.status === 401).length === 20);
    (await refresh).release();

    const answered = await responses;
    expect(api.tokens.counters.requests).toBe(1);
    const second = engine.peekToken();
    expect(second).not.toBe(first);
    expect(answered.map((response) => response.status)).toEqual(cases.map(() => 200));
    for (const [n, { expected }] of cases.entries()) {
      const sent = sentBy(api, `${n}`);
      expect(tokensAndStatuses(sent)).toEqual([
        { token: first, status: 401 },
        { token: second, status: 200 },
      ]);
      expect(await Promise.all(sent.map(receivedText))).toEqual([expected, expected]);
    }
  });

  it('retries a 401 that comes back after the refresh with the new token, without refreshing again', async () => {
    const authFetch = createAuthFetch(engine);
    const late = api.hold('late');
    const lateResponse = authFetch(api.url('/api/echo?n=late&hold=late'), { method: 'POST', body: 'late body' });
    await late.arrived;
    api.revoke(first);
    expect((await authFetch(api.url('/api/echo?n=now'))).status).toBe(200);
    expect(api.tokens.counters.requests).toBe(1);

    late.open();
    expect((await lateResponse).status).toBe(200);
    expect(api.tokens.counters.requests).toBe(1);
    const sent = sentBy(api, 'late');
    expect(tokensAndStatuses(sent)).toEqual([
      { token: first, status: 401 },
      { token: engine.peekToken(), status: 200 },
    ]);
    expect(await Promise.all(sent.map(receivedText))).toEqual(['late body', 'late body']);
  });

  it('hands back the second 401 of an API that refuses every token: two requests, one refresh', async () => {
    api.refuseEveryToken();
    const response = await createAuthFetch(engine)(api.url('/api/echo?n=refused'));
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'invalid_token' });
    expect(api.tokens.counters.requests).toBe(1);
    expect(tokensAndStatuses(api.requests)).toEqual([
      { token: first, status: 401 },
      { token: engine.peekToken(), status: 401 },
    ]);
  });

  it('rejects with AuthError and sends nothing while signed out', async () => {
    engine.signOut();
    await expect(createAuthFetch(engine)(api.url('/api/echo'))).rejects.toMatchObject({ code: 'auth' });
    expect(api.requests).toEqual([]);
    expect(api.tokens.counters.requests).toBe(0);
  });

  it('rejects as getToken does when no token can be had, and sends nothing', async () => {
    api.tokens.fault = { kind: '5xx' };
    // A rotation drops the held token: the engine has to fetch one, and cannot.
    engine.rotate();
    await expect(createAuthFetch(engine)(api.url('/api/echo'))).rejects.toMatchObject({ code: 'network' });
    expect(api.requests).toEqual([]);
  });

  it('rejects with AuthError when the session ends in the refresh a 401 asked for', async () => {
    // The token server ends the session: the API refuses its token, the server its refresh token.
    api.tokens.revoke(engine.getSnapshot().sessionKey!);
    await expect(createAuthFetch(engine)(api.url('/api/echo'))).rejects.toMatchObject({ code: 'auth' });
    expect(api.tokens.counters.requests).toBe(1);
    expect(api.requests).toHaveLength(1);
    expect(engine.getSnapshot().status).toBe('signedOut');
  });

  it('rejects with the network fault of the refresh a 401 asked for', async () => {
    api.revoke(first);
    api.tokens.fault = { kind: '5xx' };
    await expect(createAuthFetch(engine)(api.url('/api/echo'))).rejects.toMatchObject({ code: 'network' });
    expect(api.requests).toHaveLength(1);
  });

  it("aborts the caller's request while the refresh is out; the refresh completes and serves the others", async () => {
    api.revoke(first);
    const refresh = api.tokens.holdNext();
    const authFetch = createAuthFetch(engine);
    const controller = new AbortController();
    const aborted = authFetch(api.url('/api/echo?n=aborted'), { method: 'POST', body: 'x', signal: controller.signal });
    // Only this request's 401 can have asked for the refresh: it is waiting on it now.
    const held = await refresh;
    const other = authFetch(api.url('/api/echo?n=other'));
    controller.abort();
    const error: unknown = await aborted.catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(DOMException);
    expect(error).toMatchObject({ name: 'AbortError' });

    held.release();
    expect((await other).status).toBe(200);
    expect(api.tokens.counters.requests).toBe(1);
    expect(engine.peekToken()).not.toBe(first);
    expect(tokensAndStatuses(sentBy(api, 'aborted'))).toEqual([{ token: first, status: 401 }]);
  });

  it('returns an insufficient_scope 401 as it is, with no refresh', async () => {
    const response = await createAuthFetch(engine)(api.url('/api/scoped?n=scoped'));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('insufficient_scope');
    expect(api.tokens.counters.requests).toBe(0);
    expect(tokensAndStatuses(api.requests)).toEqual([{ token: first, status: 401 }]);
  });

  it('passes a request with its own Authorization header through untouched, even signed out', async () => {
    engine.signOut();
    const authFetch = createAuthFetch(engine);
    const own = { authorization: 'Basic dXNlcjpwYXNz' };
    const responses = [
      await authFetch(api.url('/api/echo?n=init'), { headers: own }),
      await authFetch(new Request(api.url('/api/echo?n=request'), { headers: own })),
    ];
    expect(responses.map((response) => response.status)).toEqual([401, 401]);
    expect(api.requests.map(({ n, authorization }) => ({ n, authorization }))).toEqual([
      { n: 'init', authorization: own.authorization },
      { n: 'request', authorization: own.authorization },
    ]);
    expect(api.tokens.counters.requests).toBe(0);
  });

  it('replays a Request input, body and headers, on the retry', async () => {
    api.revoke(first);
    const request = new Request(api.url('/api/echo?n=request'), {
      method: 'PUT',
      body: 'request body',
      headers: { 'content-type': 'text/plain', 'x-trace': 'trace-1' },
    });
    expect((await createAuthFetch(engine)(request)).status).toBe(200);
    const sent = sentBy(api, 'request');
    expect(tokensAndStatuses(sent)).toEqual([
      { token: first, status: 401 },
      { token: engine.peekToken(), status: 200 },
    ]);
    expect(await Promise.all(sent.map(receivedText))).toEqual(['request body', 'request body']);
    expect(sent.map(({ headers }) => headers['x-trace'])).toEqual(['trace-1', 'trace-1']);
  });

  it('returns the 401 of a stream body as it is: a stream cannot be sent twice', async () => {
    api.revoke(first);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('streamed'));
        controller.close();
      },
    });
    // Node's fetch needs `duplex: 'half'` to send a stream; TypeScript's RequestInit does not know it yet.
    const init = { method: 'POST', body, duplex: 'half' } as RequestInit;
    const response = await createAuthFetch(engine)(api.url('/api/echo?n=stream'), init);
    expect(response.status).toBe(401);
    expect(api.tokens.counters.requests).toBe(0);
    expect(tokensAndStatuses(api.requests)).toEqual([{ token: first, status: 401 }]);
    expect(await receivedText(api.requests[0]!)).toBe('streamed');
  });

  it('sends through the fetch it is given', async () => {
    const sent: string[] = [];
    const authFetch = createAuthFetch(engine, {
      fetch: (input, init) => {
        sent.push(new Headers(init?.headers).get('authorization') ?? '');
        return fetch(input, init);
      },
    });
    expect((await authFetch(api.url('/api/echo?n=custom'))).status).toBe(200);
    expect(sent).toEqual([`Bearer ${first}`]);
  });
});
