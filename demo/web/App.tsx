/** The demo page: the statechart viewer on the live engine, beside the controls that break things. */
import { useSelector } from '@xstate/react';
import type { SessionEngine } from '../../src/index.js';
import { sessionMachine } from '../../src/index.js';
import { StatechartViewer, stateText, type ActivityRecorder } from '../../src/viewer/index.js';
import type { TokenServerSettings } from '../demoTokenServer.js';
import { Controls } from './Controls.js';
import { describeSessionStep } from './eventWording.js';
import type { RestoreReport } from './restoreReport.js';
import type { MachineSnapshot } from './session.js';

/**
 * The server clock's offset in whole seconds. `iat` is floored to a whole second, so the offset measured from
 * it is up to a second below the true one (less the request's transit): half a second up, then rounded.
 */
function offsetText(offsetMs: number | null, hasToken: boolean): string {
  // A signed-in token says nothing of the server's clock (it may be old): only a refresh's answer measures it.
  if (offsetMs === null) return hasToken ? 'not measured yet (no refresh answered)' : 'n/a (no token)';
  const seconds = Math.round(offsetMs / 1000 + 0.5);
  if (seconds === 0) return '0 s (the clocks agree)';
  return `${seconds > 0 ? '+' : '−'}${Math.abs(seconds)} s (the server is ${seconds > 0 ? 'ahead' : 'behind'})`;
}

function Status({ engine }: { engine: SessionEngine }) {
  const state = useSelector(engine.actor, (s: MachineSnapshot) => stateText(s.value));
  const sessionKey = useSelector(engine.actor, (s: MachineSnapshot) => s.context.session?.sessionKey ?? null);
  const offset = useSelector(engine.actor, (s: MachineSnapshot) => s.context.token?.serverOffsetMs ?? null);
  const hasToken = useSelector(engine.actor, (s: MachineSnapshot) => s.context.token !== null);
  const error = useSelector(engine.actor, (s: MachineSnapshot) => s.context.error?.code ?? null);
  return (
    <div className="panel status" data-testid="status">
      <div>
        state <b data-testid="state">{state}</b>
        {error ? <span> · last error <b>{error}</b></span> : null}
      </div>
      <div>
        session <b data-testid="session-key">{sessionKey ?? 'none'}</b>
      </div>
      <div>
        server clock offset, measured from the last token: <b data-testid="server-offset">{offsetText(offset, hasToken)}</b>
      </div>
    </div>
  );
}

export function App(props: {
  engine: SessionEngine;
  recorder: ActivityRecorder;
  initialSettings: TokenServerSettings;
  /** What the engine restored after a reload; null for a page opened afresh. */
  restored: Promise<RestoreReport> | null;
}) {
  const { engine, recorder, initialSettings, restored } = props;
  const expiresAt = () => engine.getSnapshot().expiresAt;
  return (
    <>
      <header>
        <h1>sessionchart demo</h1>
        <p>
          A real session engine in this page and a real token endpoint on 127.0.0.1 (proxied at <code>/auth</code>).
          Break things on the left and watch the statechart follow: the blue box is the active state, the orange
          arrows the last transition. Tokens are never shown, only their remaining life.
        </p>
      </header>
      <main>
        <aside className="controls">
          <Status engine={engine} />
          <Controls engine={engine} initialSettings={initialSettings} restored={restored} />
        </aside>
        <section className="viewer" aria-label="statechart viewer">
          <StatechartViewer
            machine={sessionMachine}
            actor={engine.actor}
            recorder={recorder}
            describeEvent={describeSessionStep}
            expiresAt={expiresAt}
            chartHeight="calc(100vh - 150px)"
          />
        </section>
      </main>
    </>
  );
}
