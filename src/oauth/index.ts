/**
 * sessionchart/oauth: a `refresh` for an OAuth 2.0 / OIDC token endpoint (refresh_token grant),
 * built on oauth4webapi. Failures are mapped onto the engine's error classes so the engine knows
 * whether to end the session (AuthError), retry (NetworkError, InvalidTokenError) or stop (AbortError).
 */
import * as oauth from 'oauth4webapi';
import { AbortError, AuthError, InvalidTokenError, NetworkError } from '../errors.js';
import type { RefreshContext, TokenSet } from '../types.js';

export interface OAuthRefreshOptions {
  /** Discovery via /.well-known/openid-configuration, done lazily once. */
  issuer?: string | URL;
  /** A fixed token endpoint; skips discovery. */
  tokenEndpoint?: string | URL;
  clientId: string;
  /** Confidential clients (client_secret_basic). */
  clientSecret?: string;
  scope?: string;
  /** Plain http, for loopback development and tests only. */
  allowInsecureRequests?: boolean;
}

export type OAuthRefresh = (ctx: RefreshContext) => Promise<TokenSet>;

export function createOAuthRefresh(options: OAuthRefreshOptions): OAuthRefresh {
  const { clientId, clientSecret, scope, allowInsecureRequests = false } = options;
  const issuer = options.issuer === undefined ? undefined : checkedUrl(options.issuer, allowInsecureRequests);
  const tokenEndpoint =
    options.tokenEndpoint === undefined ? undefined : checkedUrl(options.tokenEndpoint, allowInsecureRequests);
  const client: oauth.Client = { client_id: clientId };
  const clientAuth = clientSecret === undefined ? oauth.None() : oauth.ClientSecretBasic(clientSecret);
  const insecure = { [oauth.allowInsecureRequests]: allowInsecureRequests };

  let metadata: (signal: AbortSignal) => Promise<oauth.AuthorizationServer>;
  if (tokenEndpoint) {
    const fixed = { issuer: (issuer ?? new URL(tokenEndpoint.origin)).href, token_endpoint: tokenEndpoint.href };
    metadata = async () => fixed;
  } else if (issuer) {
    metadata = discoverer(issuer, insecure);
  } else {
    throw new TypeError('createOAuthRefresh needs an issuer or a tokenEndpoint');
  }

  return async function refresh({ refreshToken, signal }: RefreshContext): Promise<TokenSet> {
    if (!refreshToken) throw new AuthError('No refresh token is held for this session');
    if (signal.aborted) throw new AbortError(undefined, { cause: signal.reason });

    let as: oauth.AuthorizationServer;
    let response: Response;
    try {
      as = await metadata(signal);
    } catch (error) {
      throw transportFailure(error, signal, 'The authorization server metadata could not be fetched');
    }
    try {
      const sent = await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken, {
        ...insecure,
        signal,
        ...(scope === undefined ? {} : { additionalParameters: { scope } }),
      });
      response = await withBufferedBody(sent);
    } catch (error) {
      throw transportFailure(error, signal, 'The token endpoint could not be reached');
    }

    if (isTransientStatus(response.status)) {
      await response.body?.cancel();
      throw new NetworkError(`The token endpoint answered HTTP ${response.status}`, {
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
      });
    }

    let result: oauth.TokenEndpointResponse;
    try {
      result = await oauth.processRefreshTokenResponse(as, client, response);
    } catch (error) {
      if (
        response.status === 401 ||
        error instanceof oauth.ResponseBodyError ||
        error instanceof oauth.WWWAuthenticateChallengeError
      ) {
        throw new AuthError(`The token endpoint refused the refresh token (HTTP ${response.status})`, { cause: error });
      }
      // No cause: oauth4webapi attaches the response body, which may hold tokens.
      const detail = error instanceof Error ? `: ${error.message}` : '';
      throw new InvalidTokenError(`The token endpoint sent a malformed response${detail}`);
    }

    const tokens: TokenSet = { accessToken: result.access_token, refreshToken: result.refresh_token ?? refreshToken };
    if (result.expires_in !== undefined) tokens.expiresIn = result.expires_in;
    return tokens;
  };
}

/**
 * Discovery shared by concurrent calls and cached; a failure clears it so the next call discovers again.
 * It runs under the first caller's signal: a caller whose own signal did not abort sees that as a network fault.
 */
function discoverer(issuer: URL, http: oauth.HttpRequestOptions<'GET'>) {
  let pending: Promise<oauth.AuthorizationServer> | undefined;
  return (signal: AbortSignal): Promise<oauth.AuthorizationServer> =>
    (pending ??= oauth
      .discoveryRequest(issuer, { ...http, signal })
      .then((response) => oauth.processDiscoveryResponse(issuer, response))
      .catch((error: unknown) => {
        pending = undefined;
        throw error;
      }));
}

function checkedUrl(value: string | URL, allowInsecure: boolean): URL {
  const url = new URL(value);
  if (url.protocol !== 'https:' && !(allowInsecure && url.protocol === 'http:')) {
    throw new TypeError('Only https URLs are allowed (set allowInsecureRequests for http on loopback)');
  }
  return url;
}

function transportFailure(error: unknown, signal: AbortSignal, message: string): AbortError | NetworkError {
  return signal.aborted ? new AbortError(undefined, { cause: signal.reason }) : new NetworkError(message, { cause: error });
}

function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Retry-After is either delay-seconds or an HTTP date. */
function parseRetryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * Reads a success body inside the transport step, so a connection dropped mid-body is a network fault
 * rather than a malformed response. It also drops `id_token`: the engine never uses it, and oauth4webapi
 * would validate it against the device clock, which the engine deliberately tolerates being skewed.
 */
async function withBufferedBody(response: Response): Promise<Response> {
  if (response.status !== 200) return response;
  let body = await response.text();
  try {
    const json: unknown = JSON.parse(body);
    if (json !== null && typeof json === 'object' && 'id_token' in json) {
      const { id_token: _unused, ...rest } = json;
      body = JSON.stringify(rest);
    }
  } catch {
    // Not JSON: left to oauth4webapi to reject as malformed.
  }
  return new Response(body, { status: 200, statusText: response.statusText, headers: response.headers });
}
