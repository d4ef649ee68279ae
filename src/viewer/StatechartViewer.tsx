/**
 * `<StatechartViewer machine actor expiresAt />`: any XState v5 machine drawn from its definition, with the
 * actor's active states and last transition highlighted live and kept in view, the held token's remaining
 * life, and a log of the events the actor received. Tokens are never rendered: by itself the log shows event
 * names, session keys and error codes only; a page's `describeEvent` must keep to that rule too.
 */
import { useEffect, useMemo, useState, type CSSProperties } from 'react';
import type { AnyActorRef, AnyStateMachine } from 'xstate';
import { ChartViewport } from './ChartViewport.js';
import { EventLog } from './EventLog.js';
import { layoutMachine, type ChartLayout } from './graph.js';
import { eventLabel, generatedInvokeIds } from './labels.js';
import { useActorActivity, type ActivityRecorder } from './activity.js';
import type { DescribeEvent } from './events.js';
import { useNow } from './time.js';

export interface StatechartViewerProps {
  /** The machine to draw: its definition (for example `sessionMachine`) or a `.provide()`d copy. */
  machine: AnyStateMachine;
  /** A running actor of that machine: its states and transitions are highlighted live. */
  actor?: AnyActorRef;
  /** Local-clock ms expiry of the held token (or a getter for it); shows the remaining life, ticking. */
  expiresAt?: number | null | (() => number | null);
  /** The log's words for this machine's steps (what happened and why); it must not return secrets. */
  describeEvent?: DescribeEvent;
  /** A recorder given to the actor's `inspect` option when it was created: the log then starts at its start. */
  recorder?: ActivityRecorder;
  /** Log entries kept, default 50 (a `recorder` keeps its own count). */
  maxLogEntries?: number;
  /** The height of the chart's viewport (and the log's), default `70vh`. */
  chartHeight?: CSSProperties['height'];
  className?: string;
  style?: CSSProperties;
}

const layouts = new WeakMap<AnyStateMachine, Promise<ChartLayout>>();

/** One layout per machine definition, shared by every viewer of it. */
function useChartLayout(machine: AnyStateMachine): { layout: ChartLayout | null; error: unknown } {
  const [result, setResult] = useState<{ machine: AnyStateMachine; layout: ChartLayout | null; error: unknown }>({
    machine,
    layout: null,
    error: null,
  });
  useEffect(() => {
    let current = true;
    let pending = layouts.get(machine);
    if (!pending) {
      pending = layoutMachine(machine);
      layouts.set(machine, pending);
    }
    pending.then(
      (layout) => current && setResult({ machine, layout, error: null }),
      (error: unknown) => current && setResult({ machine, layout: null, error }),
    );
    return () => {
      current = false;
    };
  }, [machine]);
  return result.machine === machine ? result : { layout: null, error: null };
}

function TokenLife({ expiresAt }: { expiresAt: number | null | (() => number | null) }) {
  const now = useNow(200);
  const at = typeof expiresAt === 'function' ? expiresAt() : expiresAt;
  // The bar's full length is the life the token had when this viewer first saw it.
  const [seen, setSeen] = useState<{ at: number | null; life: number }>({ at: null, life: 0 });
  if (seen.at !== at) setSeen({ at, life: at === null ? 0 : Math.max(at - now, 1) });
  const left = at === null ? null : at - now;
  const text =
    left === null ? 'no token held' : left > 0 ? `token: ${(left / 1000).toFixed(1)} s left` : `token expired ${(-left / 1000).toFixed(1)} s ago`;
  const fraction = left === null || seen.life === 0 ? 0 : Math.min(1, Math.max(0, left / seen.life));
  return (
    <div data-testid="token-life" style={{ margin: '0 0 10px' }}>
      <div style={{ fontVariantNumeric: 'tabular-nums', fontWeight: 600 }}>{text}</div>
      <div style={{ height: 6, background: '#e2e8f0', borderRadius: 3, marginTop: 4 }}>
        <div style={{ width: `${fraction * 100}%`, height: '100%', borderRadius: 3, background: fraction > 0.25 ? '#22c55e' : '#f59e0b' }} />
      </div>
    </div>
  );
}

export function StatechartViewer(props: StatechartViewerProps) {
  const { machine, actor, expiresAt, describeEvent, recorder, maxLogEntries, chartHeight = '70vh', className, style } = props;
  const { layout, error } = useChartLayout(machine);
  const activity = useActorActivity(actor, { recorder, maxLogEntries });
  const logicById = useMemo(() => generatedInvokeIds(machine.root), [machine]);
  return (
    <div className={className} data-statechart-viewer={machine.id} style={{ display: 'flex', flexWrap: 'wrap', gap: 16, alignItems: 'flex-start', ...style }}>
      <div style={{ flex: '3 1 420px', minWidth: 0 }}>
        {layout ? (
          <ChartViewport layout={layout} active={activity.active} lastTransitions={activity.lastTransitions} height={chartHeight} />
        ) : (
          <p role="status">{error ? `The chart could not be laid out: ${String(error)}` : 'Laying out the chart…'}</p>
        )}
      </div>
      {actor || recorder || expiresAt !== undefined ? (
        <div style={{ flex: '1 1 220px', minWidth: 220, maxWidth: 380 }}>
          {expiresAt !== undefined ? <TokenLife expiresAt={expiresAt} /> : null}
          {actor || recorder ? (
            <EventLog log={activity.log} labelOf={(type) => eventLabel(type, logicById)} describeEvent={describeEvent} maxHeight={chartHeight} />
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
