/**
 * The controls: each reproduces a failure seen in the field, with one line on what sessionchart does about it
 * and, after a click, what came of it. Server-side ones change the token server through `/demo-api`; the rest
 * act on this page's engine.
 */
import { useEffect, useState } from 'react';
import type { SessionEngine } from '../../src/index.js';
import { tokenFingerprint } from '../../src/inspect/redact.js';
import { CLOCK_AHEAD_MS, LATENCY_MS, LIFE_SECONDS } from '../settingLimits.js';
import type { FailureMode, TokenServerSettings } from '../demoTokenServer.js';
import { ApiPanel } from './ApiPanel.js';
import { Control, NumberSetting, useOutcomes, type Outcome } from './ControlParts.js';
import type { RestoreReport } from './restoreReport.js';
import { LEEWAY_MS, REFRESH_TIMEOUT_MS, RETRY, SLEEP_MS, demoApi, isTrying, network$, signInAtServer, sleepLaptop, topState, type MachineSnapshot } from './session.js';

const SKEW_SECONDS = { min: CLOCK_AHEAD_MS.min / 1000, max: CLOCK_AHEAD_MS.max / 1000 };

const FAILURES: Array<{ mode: FailureMode; label: string; note: (settings: TokenServerSettings) => string }> = [
  { mode: 'none', label: 'answer', note: () => 'The server answers every refresh.' },
  {
    mode: 'unavailable',
    label: '503',
    note: () => `A 5xx is a network fault, never a sign-out: the held token is served while valid, retries back off (${RETRY.baseMs / 1000} s, doubling, at most ${RETRY.maxMs / 1000} s) in offline.backingOff.`,
  },
  {
    mode: 'rateLimited',
    label: '429',
    note: (settings) =>
      `Too many requests is a network fault too; the next retry waits at least the server's Retry-After (${settings.retryAfterSeconds} s).`,
  },
  {
    mode: 'hang',
    label: 'hang',
    note: () => `No answer at all: refreshTimeoutMs (${REFRESH_TIMEOUT_MS / 1000} s here) aborts the request, a network fault, then the engine backs off. Only a sign-out aborts a request sooner; a rotation waits for its answer and keeps the refresh token it brings.`,
  },
];

type Report = (text: string, lasts: Outcome['lasts']) => void;

/** What a getToken() call came to; the line lasts while the token it served is held, or the failure goes on. */
async function reportGetToken(engine: SessionEngine, call: () => Promise<string | null>, report: Report) {
  const started = performance.now();
  try {
    const token = await call();
    const waited = Math.round(performance.now() - started);
    if (token === null) return report('resolved null: no session', (snapshot) => snapshot.context.session === null);
    const held = engine.actor.getSnapshot().context.token;
    const text = `${waited < 30 ? 'served at once' : `waited ${waited} ms`}: token #${tokenFingerprint(token)} (a fingerprint, not the token)`;
    report(text, (snapshot) => snapshot.context.token === held);
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'unknown';
    report(`rejected with code "${code}" in ${topState(engine.actor.getSnapshot())}`, isTrying);
  }
}

export function Controls(props: { engine: SessionEngine; initialSettings: TokenServerSettings; restored: Promise<RestoreReport> | null }) {
  const { engine, initialSettings, restored } = props;
  const [settings, setSettings] = useState(initialSettings);
  const [online, setOnline] = useState(network$.value);
  const { outcomes, report } = useOutcomes(engine.actor);
  // After a reload, the Reload control says what came back and how.
  useEffect(() => {
    let mounted = true;
    restored?.then(({ text, lasts }) => {
      if (mounted) report('reload', `after the reload: ${text}`, lasts);
    });
    return () => {
      mounted = false;
    };
  }, [restored]); // not `report`: a new function at each render, and the report is made once per page
  const sessionKey = (snapshot = engine.actor.getSnapshot()) => snapshot.context.session?.sessionKey ?? null;
  const change = (patch: Partial<TokenServerSettings>) => demoApi('/settings', patch).then(setSettings);
  const offsetS = settings.clockAheadMs / 1000;

  const signIn = () =>
    signInAtServer().then(
      (tokens) => {
        engine.signIn(tokens);
        const sid = sessionKey();
        report('signIn', `signed in: session ${sid}`, (snapshot) => sessionKey(snapshot) === sid);
      },
      (error: unknown) =>
        report('signIn', `sign-in failed: ${error instanceof Error ? error.message : String(error)}`, (snapshot) => sessionKey(snapshot) === null),
    );
  const rotate = async () => {
    const sid = sessionKey();
    if (sid === null) return report('rotate', 'no session to rotate', (snapshot) => sessionKey(snapshot) === null);
    await demoApi('/rotate', { sid });
    engine.rotate();
    // Lasts through the rotation and the session that replaces it.
    const lasts = (snapshot: MachineSnapshot) =>
      sessionKey(snapshot) === sid ? topState(snapshot) === 'rotated' : sessionKey(snapshot) !== null;
    report('rotate', `session ${sid} rotated: its token was dropped at once; the next token belongs to a new session`, lasts);
  };
  const goOnline = (next: boolean) => {
    network$.next(next);
    setOnline(next);
  };
  const sleep = () => sleepLaptop().then((next) => setSettings(next));

  return (
    <>
      <div className="panel">
        <h2>Session</h2>
        <Control title="Sign in" note="signIn(): a signed-in token is judged by its exp on this clock (a token from an SDK's cache may be old); a refreshed one lives exp − iat from when its request was sent." outcome={outcomes.signIn}>
          <button data-testid="sign-in" onClick={signIn}>Sign in</button>
        </Control>
        <Control title="The app asks" note="A valid token is served at once, a stale one too (its refresh starts in the background); without one, callers wait for the one shared refresh, or, while offline or backing off, are rejected at once with code &quot;network&quot; (forceRefresh still tries)." outcome={outcomes.getToken}>
          <button data-testid="get-token" onClick={() => reportGetToken(engine, () => engine.getToken(), (text, lasts) => report('getToken', text, lasts))}>getToken()</button>
          <button data-testid="force-refresh" onClick={() => reportGetToken(engine, () => engine.getToken({ forceRefresh: true }), (text, lasts) => report('getToken', text, lasts))}>forceRefresh</button>
        </Control>
        <Control title="Password change" note="rotate(): the old session's token is dropped at once and never served again; callers wait in rotated for the new session's token (after the refresh in flight, if any, has answered)." outcome={outcomes.rotate}>
          <button data-testid="rotate" onClick={rotate}>Rotate the session</button>
        </Control>
        <Control title="Sign out" note="signOut(): immediate from any state; an in-flight refresh is aborted and its late answer ignored; every tab follows.">
          <button data-testid="sign-out" onClick={() => engine.signOut()}>Sign out</button>
        </Control>
      </div>

      <ApiPanel engine={engine} />

      <div className="panel">
        <h2>Token server</h2>
        <Control title="Token life (s)" inputId="life" note={`Refreshed min(15 s, life / 2) before expiry, so short tokens refresh at half-life instead of looping; not served in the last ${LEEWAY_MS / 1000} s. Applies to the next token.`}>
          <NumberSetting id="life" what="the token life" unit="s" range={LIFE_SECONDS} value={settings.lifeSeconds} onValue={(lifeSeconds) => change({ lifeSeconds })} />
        </Control>
        <Control title="Latency (ms)" inputId="latency" note="Callers holding a valid token never wait for it; during refreshing, every caller shares the one request.">
          <NumberSetting id="latency" what="the latency" unit="ms" range={LATENCY_MS} value={settings.latencyMs} onValue={(latencyMs) => change({ latencyMs })} />
        </Control>
        <Control title="Refreshes" note={FAILURES.find((f) => f.mode === settings.failure)?.note(settings)}>
          {FAILURES.map(({ mode, label }) => (
            <button key={mode} data-testid={`failure-${mode}`} aria-pressed={settings.failure === mode} onClick={() => change({ failure: mode })}>
              {label}
            </button>
          ))}
        </Control>
        <Control title="Server clock (s ahead)" inputId="skew" note={`The server's clock is ${offsetS === 0 ? 'right' : `${Math.abs(offsetS)} s ${offsetS > 0 ? 'ahead' : 'behind'}`}. A refreshed token lives exp − iat from when its request was sent, so its full life here whatever that clock says. Applies to the next token.`}>
          <NumberSetting id="skew" what="the server clock's offset" unit="s" range={SKEW_SECONDS} value={offsetS} onValue={(seconds) => change({ clockAheadMs: seconds * 1000 })} />
        </Control>
      </div>

      <div className="panel">
        <h2>This browser</h2>
        <Control title="Network" note={online ? 'online$ is true.' : 'online$ is false: no attempts at all (offline.waiting); the held token is served while valid, a caller without one is rejected at once with code "network", never signed out. Back online, the token is judged afresh.'}>
          <button data-testid="offline" aria-pressed={!online} onClick={() => goOnline(!online)}>{online ? 'Go offline' : 'Go online'}</button>
        </Control>
        <Control title="Laptop sleep" note={`A page cannot sleep the laptop, so this moves this page's Date.now() ${SLEEP_MS / 60_000} min ahead (every tab of the demo, and the token server's clock) while the timers keep their real delays, as after a real sleep, then fires resume$ like visibilitychange does. The expired token is never served: one refresh on wake.`}>
          <button data-testid="sleep" onClick={sleep}>Sleep {SLEEP_MS / 60_000} min</button>
          <span className="slept">slept {Math.round(settings.sleptMs / 60_000)} min so far</span>
        </Control>
        <Control title="Reload the page" note="location.reload(): a new engine restores the session from the tabs' IndexedDB store before anything else. A token still valid comes back with no request; an expired one gets one refresh (reason &quot;restore&quot;); with nothing kept (signed out) the page stays signed out." outcome={outcomes.reload}>
          <button data-testid="reload" onClick={() => window.location.reload()}>Reload</button>
        </Control>
        <Control title="Another tab" note="Tabs of one origin share one session (BroadcastChannel): a new tab asks the others (restoring) before any request, one tab refreshes per token life under a Web Lock, sign-out and rotation reach every tab.">
          <button data-testid="open-tab" onClick={() => window.open(window.location.href, '_blank')}>Open another tab</button>
        </Control>
      </div>
    </>
  );
}
