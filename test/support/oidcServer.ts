/**
 * A real OpenID provider (oidc-provider) on 127.0.0.1 for integration tests, with a sign-in that walks the
 * authorization-code + PKCE flow over plain HTTP the way a browser would (dev login and consent forms).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oauth from 'oauth4webapi';
// @ts-expect-error -- oidc-provider v9 ships no type declarations; the few members used are typed below.
import UntypedProvider from 'oidc-provider';

interface ProviderContext {
  oidc: { params?: Record<string, unknown> };
}
interface Provider {
  callback(): http.RequestListener;
  on(event: 'grant.success' | 'grant.error', listener: (ctx: ProviderContext) => void): void;
}
const Provider = UntypedProvider as new (issuer: string, configuration: object) => Provider;

export const ACCOUNT_ID = 'alice';
const CLIENT_ID = 'sessionchart-test';
// Never dereferenced: the sign-in stops at the redirect and reads the code from the URL.
const REDIRECT_URI = 'http://127.0.0.1/callback';

export interface SignInResult {
  accessToken: string;
  refreshToken: string;
  expiresIn: number | undefined;
  idToken: string | undefined;
}

/** A refresh_token grant the provider handled, in order. */
export interface RefreshRecord {
  refreshToken: string;
  ok: boolean;
}

export interface OidcServer {
  issuer: string;
  clientId: string;
  port: number;
  signIn(): Promise<SignInResult>;
  /** Revokes a refresh token at the revocation endpoint; the provider then revokes its whole grant. */
  revokeGrant(refreshToken: string): Promise<void>;
  /** HTTP requests that reached the token endpoint. */
  requestCount(): number;
  refreshes(): RefreshRecord[];
  /** Closes the HTTP server (every open connection too); the provider and its data stay. */
  stop(): Promise<void>;
  /** Listens again on the same port with the same provider and data. */
  restart(): Promise<void>;
}

export async function startOidcServer(options: { accessTokenTtl?: number } = {}): Promise<OidcServer> {
  let tokenRequests = 0;
  const refreshLog: RefreshRecord[] = [];
  // The issuer needs the port, so the server listens first and gets the provider's handler afterwards.
  const server = http.createServer((req) => {
    if (req.method === 'POST' && req.url?.split('?')[0] === '/token') tokenRequests += 1;
  });
  await listen(server, 0);
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [REDIRECT_URI],
      },
    ],
    pkce: { required: () => true },
    issueRefreshToken: () => true,
    rotateRefreshToken: true,
    features: { devInteractions: { enabled: true }, revocation: { enabled: true, allowedPolicy: () => true } },
    ttl: {
      AccessToken: options.accessTokenTtl ?? 30,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      RefreshToken: 3600,
    },
    findAccount: () => ({ accountId: ACCOUNT_ID, claims: () => ({ sub: ACCOUNT_ID }) }),
    cookies: { keys: ['sessionchart-test-only-cookie-key'] },
    // Browser tests call the token endpoint from pages on other loopback origins.
    clientBasedCORS: () => true,
  });
  const record = (ok: boolean) => (ctx: ProviderContext) => {
    const params = ctx.oidc.params ?? {};
    if (params.grant_type === 'refresh_token') refreshLog.push({ refreshToken: String(params.refresh_token), ok });
  };
  provider.on('grant.success', record(true));
  provider.on('grant.error', record(false));
  server.on('request', provider.callback());

  const client: oauth.Client = { client_id: CLIENT_ID };
  const insecure = { [oauth.allowInsecureRequests]: true };
  const issuerUrl = new URL(issuer);
  const as = await oauth.processDiscoveryResponse(issuerUrl, await oauth.discoveryRequest(issuerUrl, insecure));

  async function signIn(): Promise<SignInResult> {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const authorize = new URL(as.authorization_endpoint ?? `${issuer}/auth`);
    authorize.search = new URLSearchParams({
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: 'openid',
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();
    const params = oauth.validateAuthResponse(as, client, await browse(authorize), state);
    const response = await oauth.authorizationCodeGrantRequest(
      as, client, oauth.None(), params, REDIRECT_URI, verifier, insecure,
    );
    const result = await oauth.processAuthorizationCodeResponse(as, client, response);
    if (!result.refresh_token) throw new Error('the provider issued no refresh token');
    return {
      accessToken: result.access_token,
      refreshToken: result.refresh_token,
      expiresIn: result.expires_in,
      idToken: result.id_token,
    };
  }

  async function revokeGrant(refreshToken: string): Promise<void> {
    const response = await oauth.revocationRequest(as, client, oauth.None(), refreshToken, insecure);
    await oauth.processRevocationResponse(response);
  }

  async function stop(): Promise<void> {
    if (!server.listening) return;
    const closed = new Promise((resolve) => server.close(resolve));
    // Keep-alive sockets from fetch would otherwise hold the server open and keep answering.
    server.closeAllConnections();
    await closed;
  }

  return {
    issuer,
    clientId: CLIENT_ID,
    port,
    signIn,
    revokeGrant,
    requestCount: () => tokenRequests,
    refreshes: () => [...refreshLog],
    stop,
    restart: () => listen(server, port),
  };
}

function listen(server: http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Plays the user agent from the authorization request to the redirect back to the client: follows
 * redirects by hand, keeps its own cookie jar (a fresh one, so each sign-in is a new session and grant),
 * and submits the dev login and consent forms. Returns the callback URL carrying the code.
 */
async function browse(start: URL): Promise<URL> {
  const jar = new Map<string, string>();
  let url = start;
  let form: URLSearchParams | undefined;
  for (let step = 0; step < 20; step += 1) {
    if (url.href.startsWith(REDIRECT_URI)) return url;
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      body: form,
      redirect: 'manual',
      headers: { cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; ') },
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';');
      const eq = pair.indexOf('=');
      const [name, value] = [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()];
      if (value) jar.set(name, value);
      else jar.delete(name);
    }
    const location = response.headers.get('location');
    if (location) {
      await response.body?.cancel();
      url = new URL(location, url);
      form = undefined;
      continue;
    }
    const html = await response.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`sign-in got stuck at ${url.pathname} (HTTP ${response.status})`);
    url = new URL(action, url);
    form = new URLSearchParams(prompt === 'login' ? { prompt, login: ACCOUNT_ID, password: 'any' } : { prompt });
  }
  throw new Error('sign-in never reached the redirect URI');
}
