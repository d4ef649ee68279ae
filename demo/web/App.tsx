/** The demo page: the statechart viewer on the live engine, beside the controls that break things. */
import { useSelector } from '@xstate/react';
import type { SessionEngine } from '../../src/index.js';
import { sessionMachine } from '../../src/index.js';
import { StatechartViewer, stateText } from '../../src/viewer/index.js';
import type { TokenServerSettings } from '../tokenServer.js';
import { Controls } from './Controls.js';

type MachineSnapshot = ReturnType<SessionEngine['actor']['getSnapshot']>;

const seconds = (ms: number) => `${ms >= 0 ? '+' : '−'}${(Math.abs(ms) / 1000).toFixed(1)} s`;

function Status({ engine }: { engine: SessionEngine }) {
  const state = useSelector(engine.actor, (s: MachineSnapshot) => stateText(s.value));
  const sessionKey = useSelector(engine.actor, (s: MachineSnapshot) => s.context.session?.sessionKey ?? null);
  const offset = useSelector(engine.actor, (s: MachineSnapshot) => s.context.token?.serverOffsetMs ?? null);
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
        server clock offset, measured at receipt: <b data-testid="server-offset">{offset === null ? 'n/a' : seconds(offset)}</b>
      </div>
    </div>
  );
}

export function App({ engine, initialSettings }: { engine: SessionEngine; initialSettings: TokenServerSettings }) {
  const expiresAt = () => engine.actor.getSnapshot().context.token?.expiresAt ?? null;
  return (
    <>
      <header>
        <h1>sessionchart demo</h1>
        <p>
          A real session engine in this page and a real token endpoint on 127.0.0.1 (proxied at <code>/auth</code>).
          Break things on the left and watch the statechart: the highlighted boxes are the active states, the
          orange arrows the last transition. Tokens are never shown, only their remaining life.
        </p>
      </header>
      <main>
        <aside className="controls">
          <Status engine={engine} />
          <Controls engine={engine} initialSettings={initialSettings} />
        </aside>
        <section className="viewer">
          <StatechartViewer machine={sessionMachine} actor={engine.actor} expiresAt={expiresAt} />
        </section>
      </main>
    </>
  );
}
