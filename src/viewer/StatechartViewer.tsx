/**
 * `<StatechartViewer machine actor expiresAt />`: any XState v5 machine drawn from its definition, with the
 * actor's active states and last transition highlighted live, the held token's remaining life, and a log of
 * the events the actor received. Tokens are never rendered: the log shows event types and session keys only.
 */
import { useEffect, useState, type CSSProperties } from 'react';
import type { AnyActorRef, AnyStateMachine } from 'xstate';
import { ChartSvg } from './ChartSvg.js';
import { layoutMachine, type ChartLayout } from './graph.js';
import { useActorActivity, type LogEntry } from './activity.js';
import type { DescribeEvent } from './events.js';

export interface StatechartViewerProps {
  /** The machine to draw: its definition (for example `sessionMachine`) or a `.provide()`d copy. */
  machine: AnyStateMachine;
  /** A running actor of that machine: its states and transitions are highlighted live. */
  actor?: AnyActorRef;
  /** Local-clock ms expiry of the held token (or a getter for it); shows the remaining life, ticking. */
  expiresAt?: number | null | (() => number | null);
  /** Custom log descriptions; it must not return secrets. */
  describeEvent?: DescribeEvent;
  /** Log entries kept, default 50. */
  maxLogEntries?: number;
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

/** Re-renders every `intervalMs`; the caller reads the clock itself, so a render for another reason is exact too. */
function useTicking(intervalMs: number): void {
  const [, setTick] = useState(0);
  useEffect(() => {
    const id = setInterval(() => setTick((tick) => tick + 1), intervalMs);
    return () => clearInterval(id);
  }, [intervalMs]);
}

function TokenLife({ expiresAt }: { expiresAt: number | null | (() => number | null) }) {
  useTicking(200);
  const now = Date.now();
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

const clockTime = (ms: number) => new Date(ms).toTimeString().slice(0, 8);

function EventLog({ log }: { log: readonly LogEntry[] }) {
  return (
    <ol
      data-testid="event-log"
      aria-label="event log"
      style={{ listStyle: 'none', margin: 0, padding: 0, fontSize: 12.5, maxHeight: '75vh', overflowY: 'auto' }}
    >
      {log.length === 0 ? <li style={{ color: '#64748b' }}>no events yet</li> : null}
      {log.map((entry) => (
        <li
          key={entry.id}
          data-event-type={entry.event.type}
          style={{ padding: '5px 0', borderBottom: '1px solid #e2e8f0', opacity: entry.changed ? 1 : 0.6 }}
        >
          <div>
            <span style={{ color: '#64748b', fontVariantNumeric: 'tabular-nums' }}>{clockTime(entry.at)} </span>
            <code style={{ fontWeight: 600 }}>{entry.event.type}</code>
            {entry.count > 1 ? <span style={{ color: '#64748b' }}> ×{entry.count}</span> : null}
            {entry.event.sessionKey ? <span style={{ color: '#0f766e' }}> session {entry.event.sessionKey}</span> : null}
            {entry.event.errorCode ? <span style={{ color: '#b91c1c' }}> ({entry.event.errorCode})</span> : null}
            <span style={{ color: entry.changed ? '#2563eb' : '#64748b' }}> → {entry.state}</span>
          </div>
          {entry.event.description ? <div style={{ color: '#475569' }}>{entry.event.description}</div> : null}
        </li>
      ))}
    </ol>
  );
}

export function StatechartViewer({ machine, actor, expiresAt, describeEvent, maxLogEntries, className, style }: StatechartViewerProps) {
  const { layout, error } = useChartLayout(machine);
  const activity = useActorActivity(actor, { describeEvent, maxLogEntries });
  const [size, setSize] = useState<'fit' | 'actual'>('fit');
  return (
    <div className={className} data-statechart-viewer={machine.id} style={{ display: 'flex', gap: 16, alignItems: 'flex-start', ...style }}>
      <div style={{ flex: '3 1 0', minWidth: 0 }}>
        {layout ? (
          <>
            <button
              type="button"
              aria-pressed={size === 'actual'}
              onClick={() => setSize(size === 'fit' ? 'actual' : 'fit')}
              style={{ float: 'right', font: 'inherit', fontSize: 12, margin: '0 0 4px 8px' }}
            >
              {size === 'fit' ? 'Actual size' : 'Fit'}
            </button>
            <div style={size === 'actual' ? { overflow: 'auto', maxHeight: '80vh', clear: 'both' } : { clear: 'both' }}>
              <ChartSvg layout={layout} active={activity.active} lastTransitions={activity.lastTransitions} size={size} />
            </div>
          </>
        ) : (
          <p role="status">{error ? `The chart could not be laid out: ${String(error)}` : 'Laying out the chart…'}</p>
        )}
      </div>
      {actor || expiresAt !== undefined ? (
        <div style={{ flex: '1 1 0', minWidth: 220, maxWidth: 380 }}>
          {expiresAt !== undefined ? <TokenLife expiresAt={expiresAt} /> : null}
          {actor ? <EventLog log={activity.log} /> : null}
        </div>
      ) : null}
    </div>
  );
}
