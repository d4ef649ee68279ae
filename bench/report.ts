/** Formatting: console tables and the markdown of docs/benchmarks.md. */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { ROW, type HotPathRow } from './micro.js';
import type { Scenario } from './schedule.js';
import type { RunResult } from './simulate.js';

export interface SizeRow {
  name: string;
  size: number;
  limit: number | undefined;
  passed: boolean | undefined;
}

export type Table = { head: string[]; rows: string[][] };

const int = (value: number) => Math.round(value).toLocaleString('en-US');
const seconds = (ms: number) => (ms === 0 ? '-' : ms < 10_000 ? (ms / 1000).toFixed(2) : (ms / 1000).toFixed(1));
const kb = (bytes: number) => `${(bytes / 1000).toFixed(2)} kB`;

export function describeScenario(s: Scenario): string {
  const skew = s.skewMs === 0 ? 'no skew' : `server clock ${s.skewMs > 0 ? '+' : '-'}${Math.abs(s.skewMs) / 60_000} min`;
  const faults = s.hostile ? 'faults + 3 sleeps' : 'no faults';
  return `N=${int(s.callers)} callers, K=${s.tabs} tab${s.tabs > 1 ? 's' : ''}, ${s.lifeS} s tokens, ${faults}, ${skew}, ${s.durationMs / 3_600_000} h`;
}

/** A heap difference in kB, or '-' where the heap was not sampled. */
const heapDelta = (r: RunResult, from: 'start' | 'middle', to: 'middle' | 'end') =>
  r.heap === null ? '-' : int(r.heap[to] - r.heap[from]);

export function runTable(runs: RunResult[]): Table {
  const half = `${runs[0]!.scenario.durationMs / 7_200_000} h`;
  return {
    head: [
      'engine',
      'req/life',
      'requests',
      'req while offline',
      'req before Retry-After',
      'calls',
      'waited',
      'wait p50 s',
      'wait p99 s',
      'wait max s',
      'failed',
      'expired served (contract)',
      'served past server expiry',
      'fault sign-outs',
      'replays (sign-outs)',
      `heap Δ 1 h→${half} kB`,
      `heap Δ ${half}→end kB`,
    ],
    rows: runs.map((r) => [
      r.engine,
      r.perLife.toFixed(2),
      int(r.requests),
      int(r.requestsDuring.offline),
      int(r.retryAfterIgnored),
      int(r.calls),
      int(r.waited),
      seconds(r.waitP50),
      seconds(r.waitP99),
      seconds(r.waitMax),
      int(r.failed),
      int(r.expiredServed),
      int(r.expiredByServerClock),
      int(r.faultSignOuts),
      `${int(r.replays)} (${int(r.replaySignOuts)})`,
      heapDelta(r, 'start', 'middle'),
      heapDelta(r, 'middle', 'end'),
    ]),
  };
}

/**
 * Where sessionchart's requests went: by the fault in force when sent, by the reason the engine gave, and how
 * many the engine aborted.
 */
export function requestTable(runs: RunResult[]): Table {
  const kinds = ['none', 'outage', 'offline', '5xx', '429', 'slow'] as const;
  const reasons = ['stale', 'expired', 'retry', 'resume', 'forced', 'rotated'];
  return {
    head: ['scenario', 'ideal', 'requests', ...kinds.map((k) => `during ${k}`), ...reasons.map((r) => `reason ${r}`), 'aborted'],
    rows: runs.map((r) => [
      r.scenario.name,
      int(r.requests / r.perLife),
      int(r.requests),
      ...kinds.map((k) => int(r.requestsDuring[k])),
      ...reasons.map((reason) => int(r.reasons?.[reason] ?? 0)),
      int(r.aborted ?? 0),
    ]),
  };
}

export function hotPathTable(rows: HotPathRow[]): Table {
  const floor = rows[0]!.opsPerSecond;
  const supabase = rows.find((row) => row.name === ROW.supabase)!.opsPerSecond;
  const relative = (ratio: number) => (ratio >= 1 ? `${ratio.toFixed(1)}x faster` : `${(1 / ratio).toFixed(1)}x slower`);
  return {
    head: ['operation', 'ops/s', '± %', 'time per op', 'vs Map.get', 'vs Supabase getSession()'],
    rows: rows.map((row) => [
      row.name,
      int(row.opsPerSecond),
      row.rme.toFixed(1),
      `${(1e9 / row.opsPerSecond).toFixed(1)} ns`,
      `${(floor / row.opsPerSecond).toFixed(1)}x slower`,
      row.name === ROW.supabase ? '1.0x' : relative(row.opsPerSecond / supabase),
    ]),
  };
}

export function sizeTable(rows: SizeRow[]): Table {
  return {
    head: ['entry point', 'min+gzip', 'budget', 'within'],
    rows: rows.map((row) => [row.name, kb(row.size), row.limit === undefined ? 'none' : kb(row.limit), row.passed ? 'yes' : 'NO']),
  };
}

/** An entry's bundle by package, largest first, with each one's share of the minified bytes. */
export function compositionTable(bytes: Map<string, number>): Table {
  const total = [...bytes.values()].reduce((a, b) => a + b, 0);
  const rows = [...bytes].sort((a, b) => b[1] - a[1]);
  return {
    head: ['part', 'minified', 'share'],
    rows: [
      ...rows.map(([part, size]) => [part.replace(/^pkg:/, ''), kb(size), `${((size / total) * 100).toFixed(0)} %`]),
      ['total', kb(total), '100 %'],
    ],
  };
}

export function printTable(title: string, table: Table): void {
  const widths = table.head.map((h, i) => Math.max(h.length, ...table.rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${title}\n${line(table.head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const row of table.rows) console.log(line(row));
}

/** Columns of figures are right-aligned; columns of words (the first, notes) left-aligned. */
export function markdownTable(table: Table): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const figure = /^[-+\d.,]*[\d-][\d.,]*( ?(x|%|kB|ns|µs|ms|s))?( \(\d+\))?$|^[\d.]+ to [\d.]+$|^(yes|\*\*no\*\*|NO)$/;
  const align = table.head.map((_, i) => (i > 0 && table.rows.every((row) => figure.test(row[i]!) || row[i] === '') ? '---:' : '---'));
  return [line(table.head), line(align), ...table.rows.map(line)].join('\n');
}

/** Linux's clock source: on a VM without a usable TSC (kvm-clock, hpet) every clock read is a system call. */
function clockSource(): string {
  try {
    return readFileSync('/sys/devices/system/clocksource/clocksource0/current_clocksource', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

export function machineDetails(): string[] {
  const cpus = os.cpus();
  return [
    `- CPU: ${cpus[0]?.model ?? 'unknown'} (${cpus.length} logical cores available to Node)`,
    `- Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- OS: ${os.type()} ${os.release()} (${os.arch()}), clock source ${clockSource()}`,
    `- Node.js ${process.version}, V8 ${process.versions.v8}`,
    // Wall times depend on what else runs; the simulator's figures (virtual time) do not.
    `- Load average when the run ended: ${os.loadavg().map((load) => load.toFixed(1)).join(', ')} (1, 5, 15 min)`,
  ];
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
  /** Where the figure comes from, or why it misses. */
  note?: string;
}

export function targetTable(checks: TargetCheck[], markdown = false): Table {
  return {
    head: ['target', 'measured', 'met', 'note'],
    rows: checks.map((c) => [c.target, c.measured, c.met ? 'yes' : markdown ? '**no**' : 'NO', c.note ?? '']),
  };
}
