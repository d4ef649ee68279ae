/** A hand-rolled SVG: refresh requests and waiting callers per 15 minutes, one line per engine. */
import type { EngineName } from './engines.js';
import { BUCKET_MS } from './metrics.js';
import { DAY_START, type FaultWindow, type Schedule } from './schedule.js';
import type { RunResult } from './simulate.js';

const COLORS: Record<EngineName, string> = {
  sessionchart: '#1f77b4',
  'sessionchart-callers-cut': '#17becf',
  naive: '#ff7f0e',
  supabase: '#2ca02c',
  firebase: '#9467bd',
};
const FAULT_FILL: Record<FaultWindow['kind'], string> = {
  outage: '#d62728',
  offline: '#8c564b',
  '5xx': '#e377c2',
  '429': '#bcbd22',
  slow: '#7f7f7f',
};

const WIDTH = 1010;
const PANEL_HEIGHT = 180;
const LEFT = 60;
/** Room for the legend's longest label, sessionchart-callers-cut. */
const RIGHT = 200;
const TOP = 40;
const GAP = 50;

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** log10(1 + v): request counts span 0 to thousands per bucket. */
const scaleOf = (max: number) => (value: number) => Math.log10(1 + value) / Math.log10(1 + Math.max(max, 1));

function panel(
  title: string,
  series: Array<{ name: EngineName; values: Int32Array }>,
  schedule: Schedule,
  top: number,
  hours: number,
): string[] {
  const plotWidth = WIDTH - LEFT - RIGHT;
  const buckets = series[0]!.values.length;
  const max = Math.max(1, ...series.flatMap((s) => Array.from(s.values)));
  const y = (value: number) => top + PANEL_HEIGHT - scaleOf(max)(value) * PANEL_HEIGHT;
  const xOfTime = (at: number) => LEFT + ((at - DAY_START) / (hours * 3_600_000)) * plotWidth;
  const out: string[] = [`<text x="${LEFT}" y="${top - 10}" font-weight="bold">${escape(title)}</text>`];
  for (const fault of schedule.faults) {
    const x = xOfTime(fault.from);
    const width = Math.max(1, xOfTime(fault.to) - x);
    out.push(`<rect x="${x.toFixed(1)}" y="${top}" width="${width.toFixed(1)}" height="${PANEL_HEIGHT}" fill="${FAULT_FILL[fault.kind]}" opacity="0.18"/>`);
  }
  for (const sleep of schedule.sleeps) {
    const x = xOfTime(sleep.at);
    const width = Math.max(1, xOfTime(sleep.at + sleep.forMs) - x);
    out.push(
      `<rect x="${x.toFixed(1)}" y="${top}" width="${width.toFixed(1)}" height="${PANEL_HEIGHT}" fill="#000" opacity="0.06"/>`,
      `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top}" y2="${top + PANEL_HEIGHT}" stroke="#000" stroke-dasharray="3,3"/>`,
    );
  }
  out.push(`<rect x="${LEFT}" y="${top}" width="${plotWidth}" height="${PANEL_HEIGHT}" fill="none" stroke="#999"/>`);
  for (const tick of [0, 1, 10, 100, 1_000, 10_000].filter((t) => t <= max)) {
    out.push(`<text x="${LEFT - 6}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end" font-size="10">${tick}</text>`);
  }
  for (let hour = 0; hour <= hours; hour += 3) {
    const x = xOfTime(DAY_START + hour * 3_600_000);
    out.push(`<text x="${x.toFixed(1)}" y="${top + PANEL_HEIGHT + 14}" text-anchor="middle" font-size="10">${hour}h</text>`);
  }
  for (const { name, values } of series) {
    const points = Array.from(values, (value, i) => {
      const x = LEFT + ((i + 0.5) / buckets) * plotWidth;
      return `${x.toFixed(1)},${y(value).toFixed(1)}`;
    });
    out.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${COLORS[name]}" stroke-width="1.5"/>`);
  }
  return out;
}

export function timelineSvg(title: string, runs: RunResult[], schedule: Schedule): string {
  const hours = runs[0]!.scenario.durationMs / 3_600_000;
  const height = TOP + 2 * PANEL_HEIGHT + GAP + 60;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${LEFT}" y="18" font-size="14" font-weight="bold">${escape(title)}</text>`,
    ...panel(
      `Refresh requests per ${BUCKET_MS / 60_000} min (log scale)`,
      runs.map((r) => ({ name: r.engine, values: r.timeline.requests })),
      schedule,
      TOP + 12,
      hours,
    ),
    ...panel(
      `Callers that waited on the network, per ${BUCKET_MS / 60_000} min (log scale)`,
      runs.map((r) => ({ name: r.engine, values: r.timeline.waited })),
      schedule,
      TOP + 12 + PANEL_HEIGHT + GAP,
      hours,
    ),
  ];
  const legend = [
    ...runs.map((r) => ({ label: r.engine, color: COLORS[r.engine], line: true })),
    ...Object.entries(FAULT_FILL).map(([kind, color]) => ({ label: kind, color, line: false })),
    { label: 'sleep', color: '#000', line: true },
  ];
  legend.forEach((item, i) => {
    const x = WIDTH - RIGHT + 15;
    const y = TOP + 20 + i * 18;
    parts.push(
      item.line
        ? `<line x1="${x}" x2="${x + 18}" y1="${y - 4}" y2="${y - 4}" stroke="${item.color}" stroke-width="2"/>`
        : `<rect x="${x}" y="${y - 10}" width="18" height="10" fill="${item.color}" opacity="0.35"/>`,
      `<text x="${x + 24}" y="${y}">${escape(item.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
