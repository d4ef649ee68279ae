/**
 * The laid-out chart as SVG: compound states as titled boxes, atomic states as rounded boxes, transitions as
 * arrows with their event names. Active states carry `data-active="true"`, the last step's transitions
 * `data-last="true"`; the colours live here so the component needs no stylesheet.
 */
import { useId } from 'react';
import type { ChartEdge, ChartLayout, ChartMarker, ChartState } from './graph.js';
import { transitionKey } from './activity.js';
import { CHART_MARGIN, STATE_LABEL_UNITS } from './framing.js';

export interface ChartSvgProps {
  layout: ChartLayout;
  active: ReadonlySet<string>;
  lastTransitions: ReadonlySet<string>;
  /** Screen px per chart unit; by default the chart fills its container's width. */
  scale?: number;
}

const COLORS = {
  stroke: '#94a3b8',
  text: '#1e293b',
  muted: '#64748b',
  fill: '#ffffff',
  compoundFill: '#f8fafc',
  active: '#2563eb',
  activeFill: '#dbeafe',
  activeCompoundFill: '#eff6ff',
  last: '#ea580c',
};
const LINE_HEIGHT = 13;
const EDGE_LABEL_UNITS = 11;
const FONT = 'ui-sans-serif, system-ui, -apple-system, "Segoe UI", sans-serif';

function StateBox({ state, active }: { state: ChartState; active: boolean }) {
  const isRoot = state.depth === 0;
  const fill = state.compound
    ? active && !isRoot ? COLORS.activeCompoundFill : COLORS.compoundFill
    : active ? COLORS.activeFill : COLORS.fill;
  return (
    <g data-state={state.key} data-active={active ? 'true' : 'false'}>
      <rect
        x={state.x}
        y={state.y}
        width={state.width}
        height={state.height}
        rx={state.compound ? 10 : 8}
        fill={fill}
        stroke={active && !isRoot ? COLORS.active : COLORS.stroke}
        strokeWidth={active && !isRoot ? 2.5 : 1}
        strokeDasharray={isRoot || state.region ? '4 4' : undefined}
      />
      {state.type === 'final' ? (
        <rect x={state.x + 3} y={state.y + 3} width={state.width - 6} height={state.height - 6} rx={6} fill="none" stroke={COLORS.stroke} />
      ) : null}
      <text
        x={state.compound ? state.x + 12 : state.x + state.width / 2}
        y={state.compound ? state.y + 19 : state.y + state.height / 2 + 4.5}
        textAnchor={state.compound ? 'start' : 'middle'}
        fontSize={STATE_LABEL_UNITS}
        fontWeight={active ? 700 : 500}
        fill={active && !isRoot ? COLORS.active : COLORS.text}
      >
        {state.name}
      </text>
    </g>
  );
}

function Marker({ marker }: { marker: ChartMarker }) {
  if (marker.kind === 'initial') {
    const r = marker.width / 2;
    return <circle cx={marker.x + r} cy={marker.y + r} r={r} fill={COLORS.muted} data-initial={marker.owner} />;
  }
  return (
    <g data-any={marker.owner}>
      <rect {...marker} rx={marker.height / 2} fill={COLORS.fill} stroke={COLORS.stroke} strokeDasharray="3 2" />
      <text x={marker.x + marker.width / 2} y={marker.y + 14} textAnchor="middle" fontSize={10.5} fill={COLORS.muted}>
        any state
      </text>
    </g>
  );
}

const pathOf = (points: ChartEdge['points']) =>
  points.map((point, index) => `${index === 0 ? 'M' : 'L'}${point.x},${point.y}`).join(' ');

function Edge({ edge, last, arrow }: { edge: ChartEdge; last: boolean; arrow: string }) {
  const color = last ? COLORS.last : COLORS.stroke;
  return (
    <g data-edge={edge.id} data-source={edge.source} data-target={edge.target} data-last={last ? 'true' : 'false'}>
      {edge.details.length > 0 ? <title>{edge.details.join('\n')}</title> : null}
      <path d={pathOf(edge.points)} fill="none" stroke={color} strokeWidth={last ? 2.5 : 1.2} markerEnd={`url(#${arrow})`} />
    </g>
  );
}

function EdgeLabel({ edge, last }: { edge: ChartEdge; last: boolean }) {
  if (!edge.labelBox) return null;
  const { x, y, width, height } = edge.labelBox;
  return (
    <g data-edge-label={edge.id}>
      <rect x={x - 2} y={y - 1} width={width + 4} height={height + 2} rx={3} fill="#ffffff" opacity={0.85} />
      <text textAnchor="middle" fontSize={EDGE_LABEL_UNITS} fontWeight={last ? 700 : 400} fill={last ? COLORS.last : COLORS.muted}>
        {edge.lines.map((line, index) => (
          <tspan key={line} x={x + width / 2} y={y + 11.5 + index * LINE_HEIGHT}>
            {line}
          </tspan>
        ))}
      </text>
    </g>
  );
}

export function ChartSvg({ layout, active, lastTransitions, scale }: ChartSvgProps) {
  const arrow = `${useId().replace(/:/g, '')}-arrow`;
  const isLast = (edge: ChartEdge) =>
    edge.eventTypes.some((eventType) => lastTransitions.has(transitionKey(edge.source, eventType, edge.target)));
  // The last step's arrows are drawn after the others, so they stay on top where routes cross.
  const edges = [...layout.edges].sort((a, b) => Number(isLast(a)) - Number(isLast(b)));
  const states = [...layout.states].sort((a, b) => a.depth - b.depth);
  const margin = CHART_MARGIN;
  const [width, height] = [layout.width + 2 * margin, layout.height + 2 * margin];
  return (
    <svg
      viewBox={`${-margin} ${-margin} ${width} ${height}`}
      width={scale === undefined ? '100%' : width * scale}
      height={scale === undefined ? undefined : height * scale}
      role="img"
      aria-label="statechart"
      fontFamily={FONT}
      style={{ display: 'block', margin: '0 auto' }}
    >
      <defs>
        {[
          ['', COLORS.stroke],
          ['-last', COLORS.last],
        ].map(([suffix, color]) => (
          <marker key={suffix} id={`${arrow}${suffix}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" fill={color} />
          </marker>
        ))}
      </defs>
      {states.map((state) => (
        <StateBox key={state.key} state={state} active={active.has(state.key)} />
      ))}
      {layout.markers.map((marker) => (
        <Marker key={`${marker.owner}/${marker.kind}`} marker={marker} />
      ))}
      {edges.map((edge) => (
        <Edge key={edge.id} edge={edge} last={isLast(edge)} arrow={isLast(edge) ? `${arrow}-last` : arrow} />
      ))}
      {edges.map((edge) => (
        <EdgeLabel key={edge.id} edge={edge} last={isLast(edge)} />
      ))}
    </svg>
  );
}
