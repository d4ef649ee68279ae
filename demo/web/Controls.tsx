/**
 * The controls: each reproduces a failure seen in the field, with one line on what sessionchart does about it.
 * Server-side ones change the token server through `/demo-api`; the rest act on this page's engine.
 */
import { useState, type ReactNode } from 'react';
import type { SessionEngine } from '../../src/index.js';
import { tokenFingerprint } from '../../src/inspect/redact.js';
import type { FailureMode, TokenServerSettings } from '../tokenServer.js';
import { LEEWAY_MS, REFRESH_TIMEOUT_MS, RETRY, SLEEP_MS, demoApi, network$, signInAtServer, sleepLaptop } from './session.js';

function Control({ title, note, outcome, children }: { title: string; note: ReactNode; outcome?: string; children: ReactNode }) {
  return (
    <div className="control">
      <div className="row">
        <label>{title}</label>
        {children}
      </div>
      <div className="note">{note}</div>
      {outcome ? <div className="outcome">{outcome}</div> : null}
    </div>
  );
}

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
    note: () => `No answer at all: this app's refresh gives up after ${REFRESH_TIMEOUT_MS / 1000} s (AbortSignal.timeout), a network fault, then backs off. A sign-out or a rotation aborts the request at once.`,
  },
];

/** A number input that sends each valid value to the token server. */
function NumberSetting({ id, value, onValue }: { id: string; value: number; onValue: (value: number) => void }) {
  const [text, setText] = useState(String(value));
  return (
    <input
      type="number"
      data-testid={id}
      value={text}
      onChange={(event) => {
        setText(event.target.value);
        const parsed = Number(event.target.value);
        if (event.target.value !== '' && Number.isFinite(parsed)) onValue(parsed);
      }}
    />
  );
}

async function describeGetToken(call: () => Promise<string | null>): Promise<string> {
  const started = performance.now();
  try {
    const token = await call();
    const waited = Math.round(performance.now() - started);
    if (token === null) return 'resolved null: no session';
    return `${waited < 30 ? 'served at once' : `waited ${waited} ms`}: token #${tokenFingerprint(token)} (a fingerprint, not the token)`;
  } catch (error) {
    return `rejected with code "${(error as { code?: string }).code ?? 'unknown'}"`;
  }
}

export function Controls({ engine, initialSettings }: { engine: SessionEngine; initialSettings: TokenServerSettings }) {
  const [settings, setSettings] = useState(initialSettings);
  const [online, setOnline] = useState(network$.value);
  const [outcomes, setOutcomes] = useState<Record<string, string>>({});
  const report = (control: string, text: string) => setOutcomes((all) => ({ ...all, [control]: text }));
  const change = (patch: Partial<TokenServerSettings>) => demoApi('/settings', patch).then(setSettings);
  const offsetS = settings.clockAheadMs / 1000;

  const signIn = () =>
    signInAtServer().then(
      (tokens) => {
        engine.signIn(tokens);
        report('signIn', 'signed in: a new session');
      },
      (error: unknown) => report('signIn', `sign-in failed: ${error instanceof Error ? error.message : String(error)}`),
    );
  const rotate = async () => {
    const sid = engine.getSnapshot().sessionKey;
    if (sid === null) return report('rotate', 'no session to rotate');
    await demoApi('/rotate', { sid });
    engine.rotate();
    report('rotate', `session ${sid} rotated: its token is gone; the next one belongs to a new session`);
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
        <Control title="Sign in" note="signIn(): the token's life is counted from receipt on this clock." outcome={outcomes.signIn}>
          <button data-testid="sign-in" onClick={signIn}>Sign in</button>
        </Control>
        <Control title="The app asks" note="A valid token is served at once, a stale one too (its refresh starts in the background); without one, callers wait for the one shared refresh." outcome={outcomes.getToken}>
          <button data-testid="get-token" onClick={() => describeGetToken(() => engine.getToken()).then((text) => report('getToken', text))}>getToken()</button>
          <button data-testid="force-refresh" onClick={() => describeGetToken(() => engine.getToken({ forceRefresh: true })).then((text) => report('getToken', text))}>forceRefresh</button>
        </Control>
        <Control title="Password change" note="rotate(): the old session's token is dropped at once and never served again; callers wait in rotated for the new session's token." outcome={outcomes.rotate}>
          <button data-testid="rotate" onClick={rotate}>Rotate the session</button>
        </Control>
        <Control title="Sign out" note="signOut(): immediate from any state; an in-flight refresh is aborted and its late answer ignored; every tab follows.">
          <button data-testid="sign-out" onClick={() => engine.signOut()}>Sign out</button>
        </Control>
      </div>

      <div className="panel">
        <h2>Token server</h2>
        <Control title="Token life (s)" note={`Refreshed min(15 s, life / 2) before expiry, so short tokens refresh at half-life instead of looping; not served in the last ${LEEWAY_MS / 1000} s. Applies to the next token.`}>
          <NumberSetting id="life" value={settings.lifeSeconds} onValue={(lifeSeconds) => change({ lifeSeconds })} />
        </Control>
        <Control title="Latency (ms)" note="Callers holding a valid token never wait for it; during refreshing, every caller shares the one request.">
          <NumberSetting id="latency" value={settings.latencyMs} onValue={(latencyMs) => change({ latencyMs })} />
        </Control>
        <Control title="Refreshes" note={FAILURES.find((f) => f.mode === settings.failure)?.note(settings)}>
          {FAILURES.map(({ mode, label }) => (
            <button key={mode} data-testid={`failure-${mode}`} aria-pressed={settings.failure === mode} onClick={() => change({ failure: mode })}>
              {label}
            </button>
          ))}
        </Control>
        <Control title="Server clock (s ahead)" note={`The server's clock is ${offsetS === 0 ? 'right' : `${Math.abs(offsetS)} s ${offsetS > 0 ? 'ahead' : 'behind'}`}. Expiry is measured from receipt (exp − iat), so a token lives its full life here whatever that clock says. Applies to the next token.`}>
          <NumberSetting id="skew" value={offsetS} onValue={(seconds) => change({ clockAheadMs: seconds * 1000 })} />
        </Control>
      </div>

      <div className="panel">
        <h2>This browser</h2>
        <Control title="Network" note={online ? 'online$ is true.' : 'online$ is false: no attempts at all (offline.waiting); the held token is served while valid, a caller without one is rejected at once with code "network", never signed out. Back online, the token is judged afresh.'}>
          <button data-testid="offline" aria-pressed={!online} onClick={() => goOnline(!online)}>{online ? 'Go offline' : 'Go online'}</button>
        </Control>
        <Control title="Laptop sleep" note={`A page cannot sleep the laptop, so this moves this page's Date.now() ${SLEEP_MS / 60_000} min ahead (every tab of the demo, and the token server's clock) while the timers keep their real delays, as after a real sleep, then fires resume$ like visibilitychange does. The expired token is never served: one refresh on wake.`}>
          <button data-testid="sleep" onClick={sleep}>Sleep {SLEEP_MS / 60_000} min</button>
          <span className="note">slept {Math.round(settings.sleptMs / 60_000)} min so far</span>
        </Control>
        <Control title="Another tab" note="Tabs of one origin share one session (BroadcastChannel): a new tab asks the others (restoring) before any request, one tab refreshes per token life under a Web Lock, sign-out and rotation reach every tab.">
          <button data-testid="open-tab" onClick={() => window.open(window.location.href, '_blank')}>Open another tab</button>
        </Control>
      </div>
    </>
  );
}
