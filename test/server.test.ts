import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CompactSign,
  SignJWT,
  UnsecuredJWT,
  exportJWK,
  generateKeyPair,
  type CryptoKey,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
} from 'jose';
import {
  verifySessionToken,
  type VerifySessionTokenOptions,
  type VerifySessionTokenResult,
} from '../src/server/index.js';

const SECRET = 'a test secret that is long enough for HS256';
const encoder = new TextEncoder();
const nowS = () => Math.floor(Date.now() / 1000);

async function sign(
  claims: JWTPayload,
  key: CryptoKey | Uint8Array = encoder.encode(SECRET),
  header: JWTHeaderParameters = { alg: 'HS256' },
): Promise<string> {
  return new SignJWT({ sid: 'sess-1', iat: nowS(), exp: nowS() + 300, ...claims }).setProtectedHeader(header).sign(key);
}

/** Verifies and checks the contract's two promises on every call: no rejection, no token in the message. */
async function verify(token: string, options: VerifySessionTokenOptions): Promise<VerifySessionTokenResult> {
  const result = await verifySessionToken(token, options);
  if (!result.ok && typeof token === 'string' && token !== '') expect(result.message).not.toContain(token);
  return result;
}

async function codeOf(token: string, options: VerifySessionTokenOptions): Promise<string> {
  const result = await verify(token, options);
  return result.ok ? 'ok' : result.code;
}

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const portOf = (server: Server) => (server.address() as AddressInfo).port;

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
}

describe('verifySessionToken with an HS256 secret', () => {
  const options = { secret: SECRET };

  it('accepts a valid token and returns its claims and session key', async () => {
    const result = await verify(await sign({ sub: 'user-1' }), options);
    expect(result).toMatchObject({ ok: true, claims: { sid: 'sess-1', sub: 'user-1' }, sessionKey: 'sess-1' });
    expect(await codeOf(await sign({}), { secret: encoder.encode(SECRET) })).toBe('ok');
  });

  it('takes the session key from the first claim present, as a string', async () => {
    const keyOf = async (claims: JWTPayload, sessionKeyClaims?: readonly string[]) => {
      const result = await verify(await sign({ sid: undefined, ...claims }), { ...options, sessionKeyClaims });
      return result.ok ? result.sessionKey : 'failed';
    };
    expect(await keyOf({ sub: 'u', session_id: 's' })).toBe('s');
    expect(await keyOf({ sessionId: 'a', refresh_token_id: 'b' })).toBe('a');
    expect(await keyOf({ refresh_token_id: 42, sub: 'u' })).toBe('42');
    expect(await keyOf({ sub: 'u' })).toBe('u');
    expect(await keyOf({})).toBeNull();
    expect(await keyOf({ sub: 'u', tenant_session: 't' }, ['tenant_session'])).toBe('t');
  });

  it('gives bad_signature for a wrong secret or a tampered payload', async () => {
    expect(await codeOf(await sign({}), { secret: 'another secret' })).toBe('bad_signature');
    const [header, , signature] = (await sign({ sub: 'alice' })).split('.');
    const [, payload] = (await sign({ sub: 'mallory' })).split('.');
    expect(await codeOf(`${header}.${payload}.${signature}`, options)).toBe('bad_signature');
  });

  it('allows 60 s of clock drift by default on exp', async () => {
    const expired30s = await sign({ iat: nowS() - 330, exp: nowS() - 30 });
    expect(await codeOf(expired30s, options)).toBe('ok');
    expect(await codeOf(expired30s, { ...options, leewaySeconds: 0 })).toBe('expired');
    expect(await codeOf(await sign({ iat: nowS() - 400, exp: nowS() - 120 }), options)).toBe('expired');
    expect(await codeOf(expired30s, { ...options, leewaySeconds: 120 })).toBe('ok');
  });

  it('gives not_yet_valid for nbf or iat in the future beyond the leeway', async () => {
    const nbf30s = await sign({ nbf: nowS() + 30 });
    expect(await codeOf(nbf30s, options)).toBe('ok');
    expect(await codeOf(nbf30s, { ...options, leewaySeconds: 0 })).toBe('not_yet_valid');
    expect(await codeOf(await sign({ nbf: nowS() + 300, exp: nowS() + 900 }), options)).toBe('not_yet_valid');
    expect(await codeOf(await sign({ iat: nowS() + 300, exp: nowS() + 900 }), options)).toBe('not_yet_valid');
    expect(await codeOf(await sign({ iat: nowS() + 30 }), options)).toBe('ok');
  });

  it('gives bad_claim for a wrong issuer or audience, or a claim of the wrong type', async () => {
    const token = await sign({ iss: 'https://issuer.test', aud: 'api' });
    expect(await codeOf(token, { ...options, issuer: 'https://issuer.test', audience: 'api' })).toBe('ok');
    expect(await codeOf(token, { ...options, issuer: ['https://other.test', 'https://issuer.test'] })).toBe('ok');
    expect(await codeOf(token, { ...options, issuer: 'https://other.test' })).toBe('bad_claim');
    expect(await codeOf(token, { ...options, audience: ['web', 'admin'] })).toBe('bad_claim');
    expect(await codeOf(await sign({}), { ...options, audience: 'api' })).toBe('bad_claim');
    expect(await codeOf(await sign({ exp: 'tomorrow' as unknown as number }), options)).toBe('bad_claim');
  });

  it('gives bad_signature for an algorithm outside `algorithms`, or an unsigned token', async () => {
    const token = await sign({});
    expect(await codeOf(token, { ...options, algorithms: ['HS256', 'RS256'] })).toBe('ok');
    expect(await codeOf(token, { ...options, algorithms: ['HS512'] })).toBe('bad_signature');
    const unsigned = new UnsecuredJWT({ sid: 'sess-1', exp: nowS() + 300 }).encode();
    expect(await codeOf(unsigned, options)).toBe('bad_signature');
  });

  it('gives malformed for strings that are not signed JWTs', async () => {
    const signedNonJson = await new CompactSign(encoder.encode('not json'))
      .setProtectedHeader({ alg: 'HS256' })
      .sign(encoder.encode(SECRET));
    const garbage = ['garbage', 'a.b.c', 'x.y', '...', '%%%.%%%.%%%', `${btoa('{"alg":')}.e30.sig`, signedNonJson];
    for (const token of garbage) expect(await codeOf(token, options), token).toBe('malformed');
    expect(await codeOf('', options)).toBe('malformed');
    expect(await codeOf(42 as unknown as string, options)).toBe('malformed');
  });

  it('gives no_key without a key option, and for unusable options, without throwing', async () => {
    const token = await sign({});
    expect(await codeOf(token, {})).toBe('no_key');
    expect(await codeOf(token, undefined as unknown as VerifySessionTokenOptions)).toBe('no_key');
    expect(await codeOf(token, { secret: '' })).toBe('no_key');
    expect(await codeOf(token, { ...options, leewaySeconds: Number.NaN })).toBe('no_key');
    expect(await codeOf(token, { ...options, leewaySeconds: -1 })).toBe('no_key');
    expect(await codeOf(token, { ...options, algorithms: 'HS256' as unknown as string[] })).toBe('no_key');
    expect(await codeOf(token, { ...options, sessionKeyClaims: [1] as unknown as string[] })).toBe('no_key');
    expect(await codeOf(token, { jwksUrl: 'not a url' })).toBe('no_key');
  });
});

describe('verifySessionToken with a public key', () => {
  let es: { privateKey: CryptoKey; publicKey: CryptoKey; jwk: JWK };
  let rs: { privateKey: CryptoKey; publicKey: CryptoKey; jwk: JWK; privateJwk: JWK };

  beforeAll(async () => {
    const esPair = await generateKeyPair('ES256');
    es = { ...esPair, jwk: await exportJWK(esPair.publicKey) };
    const rsPair = await generateKeyPair('RS256', { extractable: true });
    rs = { ...rsPair, jwk: await exportJWK(rsPair.publicKey), privateJwk: await exportJWK(rsPair.privateKey) };
  });

  it('verifies ES256 and RS256 tokens with a JWK or a CryptoKey', async () => {
    const esToken = await sign({}, es.privateKey, { alg: 'ES256' });
    const rsToken = await sign({}, rs.privateKey, { alg: 'RS256' });
    expect(await verify(esToken, { key: es.jwk })).toMatchObject({ ok: true, sessionKey: 'sess-1' });
    expect(await codeOf(esToken, { key: es.publicKey })).toBe('ok');
    expect(await codeOf(rsToken, { key: rs.jwk })).toBe('ok');
    expect(await codeOf(rsToken, { key: { ...rs.jwk, alg: 'RS256' }, algorithms: ['RS256'] })).toBe('ok');
    // the JWK import is cached per key and alg; a second call must still verify
    expect(await codeOf(rsToken, { key: rs.jwk })).toBe('ok');
  });

  it('gives bad_signature for a signature made with another key', async () => {
    const other = await generateKeyPair('ES256');
    expect(await codeOf(await sign({}, other.privateKey, { alg: 'ES256' }), { key: es.jwk })).toBe('bad_signature');
  });

  it('gives no_key when the key does not fit the token', async () => {
    const esToken = await sign({}, es.privateKey, { alg: 'ES256' });
    const rsToken = await sign({}, rs.privateKey, { alg: 'RS256' });
    expect(await codeOf(esToken, { key: rs.jwk })).toBe('no_key');
    expect(await codeOf(esToken, { key: rs.publicKey })).toBe('no_key');
    expect(await codeOf(rsToken, { key: { ...rs.jwk, alg: 'RS384' } })).toBe('no_key');
    expect(await codeOf(rsToken, { key: rs.privateJwk })).toBe('no_key');
    expect(await codeOf(rsToken, { secret: SECRET })).toBe('no_key');
  });

  it('never uses a public key as an HMAC secret (algorithm confusion)', async () => {
    const forged = await sign({}, encoder.encode(JSON.stringify(rs.jwk)), { alg: 'HS256' });
    expect(await codeOf(forged, { key: rs.jwk })).toBe('no_key');
    expect(await codeOf(forged, { key: rs.jwk, secret: SECRET })).toBe('bad_signature');
  });
});

describe('verifySessionToken with jwksUrl', () => {
  let server: Server;
  let base: string;
  let key: { privateKey: CryptoKey };
  let jwksRequests = 0;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    key = pair;
    const jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] };
    server = await listen((req, res) => {
      if (req.url === '/jwks.json') {
        jwksRequests += 1;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
      } else if (req.url === '/not-json') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('<html>');
      } else {
        res.writeHead(500).end();
      }
    });
    base = `http://127.0.0.1:${portOf(server)}`;
  });

  afterAll(() => close(server));

  it('verifies tokens through the JWKS and reuses the fetched set across calls', async () => {
    const token = await sign({ iss: base }, key.privateKey, { alg: 'ES256', kid: 'k1' });
    const jwksUrl = `${base}/jwks.json`;
    expect(await verify(token, { jwksUrl, issuer: base })).toMatchObject({ ok: true, sessionKey: 'sess-1' });
    expect(await codeOf(token, { jwksUrl: new URL(jwksUrl), issuer: base })).toBe('ok');
    expect(jwksRequests).toBe(1);
  });

  it('gives no_key when no JWKS key matches the token', async () => {
    const token = await sign({}, key.privateKey, { alg: 'ES256', kid: 'unknown' });
    expect(await codeOf(token, { jwksUrl: `${base}/jwks.json` })).toBe('no_key');
  });

  it('gives no_key for an erroring or non-JSON JWKS endpoint', async () => {
    const token = await sign({}, key.privateKey, { alg: 'ES256', kid: 'k1' });
    expect(await codeOf(token, { jwksUrl: `${base}/broken` })).toBe('no_key');
    expect(await codeOf(token, { jwksUrl: `${base}/not-json` })).toBe('no_key');
  });

  it('gives no_key for an unreachable JWKS and does not throw', async () => {
    const closed = await listen(() => undefined);
    const port = portOf(closed);
    await close(closed);
    const token = await sign({}, key.privateKey, { alg: 'ES256', kid: 'k1' });
    const pending = verifySessionToken(token, { jwksUrl: `http://127.0.0.1:${port}/jwks.json` });
    await expect(pending).resolves.toMatchObject({ ok: false, code: 'no_key' });
    const result = await pending;
    expect(!result.ok && result.message).not.toContain(token);
  });
});

describe('verifySessionToken against oidc-provider', () => {
  type ProviderLike = { callback(): (req: IncomingMessage, res: ServerResponse) => void };
  type ProviderClass = new (issuer: string, configuration: Record<string, unknown>) => ProviderLike;

  let server: Server;
  let issuer: string;
  let signingKey: CryptoKey;

  beforeAll(async () => {
    // oidc-provider ships no type declarations; a non-literal specifier keeps tsc from looking for them.
    const specifier = 'oidc-provider';
    const { default: Provider } = (await import(specifier)) as { default: ProviderClass };
    const pair = await generateKeyPair('RS256', { extractable: true });
    signingKey = pair.privateKey;
    const privateJwk = { ...(await exportJWK(pair.privateKey)), kid: 'op-key', alg: 'RS256', use: 'sig' };

    server = await listen(() => undefined);
    issuer = `http://127.0.0.1:${portOf(server)}`;
    const provider = new Provider(issuer, { jwks: { keys: [privateJwk] } });
    server.removeAllListeners('request');
    server.on('request', provider.callback());
  });

  afterAll(() => close(server));

  it("verifies a token signed with the provider's key through its discovered jwks_uri", async () => {
    const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
    const jwksUrl = discovery.jwks_uri;
    expect(jwksUrl.startsWith(issuer)).toBe(true);

    const token = await sign({ iss: issuer, aud: 'api', sid: 'op-session' }, signingKey, { alg: 'RS256', kid: 'op-key' });
    const result = await verify(token, { jwksUrl, issuer, audience: 'api' });
    expect(result).toMatchObject({ ok: true, claims: { iss: issuer }, sessionKey: 'op-session' });

    expect(await codeOf(token, { jwksUrl, issuer: 'https://elsewhere.test', audience: 'api' })).toBe('bad_claim');
    const impostor = await generateKeyPair('RS256');
    const forged = await sign({ iss: issuer, aud: 'api' }, impostor.privateKey, { alg: 'RS256', kid: 'op-key' });
    expect(await codeOf(forged, { jwksUrl, issuer, audience: 'api' })).toBe('bad_signature');
  });
});
