/**
 * The page's calls to the demo's bearer API (`/api`, demo/resourceApi.ts): `GET /api/profile` through
 * `createAuthFetch(engine)` from sessionchart/fetch, and a revocation of the held token at the API. A call's
 * line tells what the API answered to each send, and what the API and the token server counted meanwhile.
 */
import type { SessionEngine } from '../../src/index.js';
import { createAuthFetch, type Fetch } from '../../src/fetch/index.js';
import { tokenFingerprint } from '../../src/inspect/redact.js';
import type { Profile } from '../resourceApi.js';
import type { Outcome } from './ControlParts.js';
import type { DemoCounts } from './server.js';
import { demoNetworkFetch, isTrying, type MachineSnapshot } from './session.js';

export type ApiOutcome = Pick<Outcome, 'text' | 'lasts'>;

/** One request as the API saw it: its status, and the fingerprint of the token it carried (never the token). */
interface Send {
  status: number;
  token: string;
}

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;
const fingerprintOf = (headers: HeadersInit | undefined) =>
  tokenFingerprint(new Headers(headers).get('authorization')?.replace(/^Bearer\s+/i, '') ?? '');

async function demoCounts(): Promise<DemoCounts> {
  const response = await fetch('/demo-api/counts');
  if (!response.ok) throw new Error(`demo-api/counts answered ${response.status}`);
  return (await response.json()) as DemoCounts;
}

/** What the API and the token server counted between two readings. */
function countedText(before: DemoCounts, after: DemoCounts): string {
  const requests = after.api.requests - before.api.requests;
  const refused = after.api.refused - before.api.refused;
  const refreshes = after.refreshes - before.refreshes;
  return `the API counted ${plural(requests, 'request')} (${refused} refused), the token server ${plural(refreshes, 'refresh', 'refreshes')}`;
}

function sendsText([first, retry]: Send[], profile: Profile | null, refreshes: number): string {
  if (first === undefined) return 'nothing was sent';
  const answered = (send: Send) => `${send.status}${send.status === 200 && profile ? ` (${profile.user}, session ${profile.session})` : ''}`;
  if (retry === undefined) return `token #${first.token}: ${answered(first)}${first.status === 401 ? '' : ', no 401, no refresh'}`;
  const between = refreshes === 0 ? 'no refresh (the engine already held a newer token)' : plural(refreshes, 'forced refresh', 'refreshes');
  return `token #${first.token}: ${first.status} → ${between} → retry with token #${retry.token}: ${answered(retry)}`;
}

function rejectionOf(error: unknown): ApiOutcome {
  const code = (error as { code?: string }).code;
  if (code === 'auth') return { text: 'rejected with code "auth": signed out, nothing was sent', lasts: (snapshot) => snapshot.context.session === null };
  if (code !== undefined) return { text: `rejected with code "${code}": no token to be had, nothing was sent`, lasts: isTrying };
  const message = error instanceof Error ? error.message : String(error);
  return { text: `the API could not be reached (${message})`, lasts: (snapshot) => !snapshot.context.online };
}

/** `GET /api/profile` with the engine's token: a 401 gets one forced refresh and one retry. */
export async function callApi(engine: SessionEngine): Promise<ApiOutcome> {
  const sends: Send[] = [];
  const recordingFetch: Fetch = async (input, init) => {
    const response = await demoNetworkFetch(input, init);
    sends.push({ status: response.status, token: fingerprintOf(init?.headers) });
    return response;
  };
  // An authFetch of its own for each call, so that the sends recorded are this call's; the refresh a 401 asks
  // for is still the engine's one, shared with every other caller.
  const authFetch = createAuthFetch(engine, { fetch: recordingFetch });
  const before = await demoCounts();
  try {
    const response = await authFetch('/api/profile');
    const profile = response.ok ? ((await response.json()) as Profile) : null;
    const after = await demoCounts();
    const held = engine.actor.getSnapshot().context.token;
    const text = `${sendsText(sends, profile, after.refreshes - before.refreshes)} · ${countedText(before, after)}`;
    // Lasts while the token the call ended with is held: the next token is another story.
    return { text, lasts: (snapshot) => snapshot.context.token === held };
  } catch (error) {
    const { text, lasts } = rejectionOf(error);
    return { text: `${text} · ${countedText(before, await demoCounts())}`, lasts };
  }
}

/** Revokes the held access token at the API only: the token server still counts its session valid. */
export async function revokeOnApi(engine: SessionEngine): Promise<ApiOutcome> {
  const held = engine.actor.getSnapshot().context.token;
  const token = engine.peekToken();
  const lasts = (snapshot: MachineSnapshot) => snapshot.context.token === held;
  if (held === null || token === null) return { text: 'no valid token held: nothing to revoke', lasts };
  try {
    // Its own Authorization header: the token to revoke is the one presented, whatever the API thinks of it.
    const response = await demoNetworkFetch('/api/revoke', { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    if (!response.ok) return { text: `the API refused to revoke token #${tokenFingerprint(token)}: ${response.status}`, lasts };
    return {
      text: `the API revoked token #${tokenFingerprint(token)}; the token server still counts the session valid, so the engine serves that token until a call gets its 401`,
      lasts,
    };
  } catch (error) {
    return { text: `the API could not be reached (${error instanceof Error ? error.message : String(error)})`, lasts };
  }
}
