/**
 * The event log, newest first: what each step did (the page's words, or the event's name), when (relative to
 * now), the chart's name for it and the state it led to. Identical steps in a row show as one, with a count.
 */
import type { CSSProperties } from 'react';
import type { LogEntry } from './activity.js';
import type { DescribeEvent } from './events.js';
import { TimeAgo, useNow } from './time.js';

export interface EventLogProps {
  log: readonly LogEntry[];
  /** The chart's name for an event type (`done(refreshToken)`). */
  labelOf: (eventType: string) => string;
  describeEvent?: DescribeEvent;
  maxHeight: CSSProperties['maxHeight'];
}

const MUTED = '#475569';

function LogLine({ entry, now, labelOf, describeEvent }: { entry: LogEntry; now: number } & Pick<EventLogProps, 'labelOf' | 'describeEvent'>) {
  const label = labelOf(entry.event.type);
  const described = describeEvent?.({ ...entry.step, label });
  const { sessionKey, errorCode } = entry.event;
  return (
    <li data-event-type={entry.event.type} style={{ padding: '6px 0', borderBottom: '1px solid #e2e8f0', overflowWrap: 'anywhere' }}>
      <div>
        {described ?? <code style={{ fontWeight: 600 }}>{label}</code>}
        {entry.count > 1 ? <b title={`${entry.count} identical events in a row`}> ×{entry.count}</b> : null}
      </div>
      <div style={{ color: MUTED, fontSize: 11.5 }}>
        <TimeAgo at={entry.step.at} now={now} />
        {described ? <> · <code>{label}</code></> : null}
        <span style={{ color: entry.step.changed ? '#1d4ed8' : MUTED }}> → {entry.state}</span>
        {!described && sessionKey ? <span style={{ color: '#0f766e' }}> · session {sessionKey}</span> : null}
        {!described && errorCode ? <span style={{ color: '#b91c1c' }}> · {errorCode}</span> : null}
      </div>
    </li>
  );
}

export function EventLog({ log, labelOf, describeEvent, maxHeight }: EventLogProps) {
  const now = useNow(1000);
  return (
    <ol
      data-testid="event-log"
      aria-label="event log, newest first"
      tabIndex={0}
      style={{ listStyle: 'none', margin: 0, padding: '0 4px 0 0', fontSize: 12.5, lineHeight: 1.35, maxHeight, overflowY: 'auto' }}
    >
      {log.length === 0 ? <li style={{ color: MUTED }}>no events yet</li> : null}
      {log.map((entry) => (
        <LogLine key={entry.id} entry={entry} now={now} labelOf={labelOf} describeEvent={describeEvent} />
      ))}
    </ol>
  );
}
