/**
 * The API panel: the app's own calls to a bearer API (the demo's `/api`) through `createAuthFetch(engine)`, and
 * an access token revoked early at that API, so a call meets a 401 and shows the one refresh and the retry.
 */
import type { SessionEngine } from '../../src/index.js';
import { callApi, revokeOnApi, type ApiOutcome } from './apiClient.js';
import { Control, useOutcomes } from './ControlParts.js';

export function ApiPanel({ engine }: { engine: SessionEngine }) {
  const { outcomes, report } = useOutcomes(engine.actor);
  const run = (control: string, action: (engine: SessionEngine) => Promise<ApiOutcome>) => () =>
    action(engine).then(
      ({ text, lasts }) => report(control, text, lasts),
      // Only the demo's own count endpoint failing gets here: the actions word every other failure.
      (error: unknown) => report(control, `the demo server could not be reached (${String(error)})`, () => true),
    );
  return (
    <div className="panel">
      <h2>Your API</h2>
      <Control
        title="Call the API"
        note="GET /api/profile with createAuthFetch(engine) from sessionchart/fetch: the engine's token as Bearer. A 401 gets one forced refresh, shared by every request refused for that token, then one retry; a second 401 is handed back as it is. The line counts what the API and the token server saw."
        outcome={outcomes.call}
      >
        <button data-testid="call-api" onClick={run('call', callApi)}>authFetch()</button>
      </Control>
      <Control
        title="Revoke the token on the API"
        note="The API stops accepting the token held now, before its expiry (a permission change, a logout elsewhere). The token server still counts the session valid, so the engine serves that token until a call gets its 401."
        outcome={outcomes.revoke}
      >
        <button data-testid="revoke-api" onClick={run('revoke', revokeOnApi)}>Revoke</button>
      </Control>
    </div>
  );
}
