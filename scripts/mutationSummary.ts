/**
 * Prints the mutation score per file and every mutant no test noticed, by file and line, from Stryker's JSON
 * report (`npm run mutate` runs it after Stryker). Score = (killed + timed out) / (those + survived + no
 * coverage), as Stryker counts it; compile and runtime errors and ignored mutants do not count. Exits 1 when
 * machines/ or the engine core scores below MINIMUM_SCORE (issue 7).
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPORT_PATH = 'reports/mutation/mutation.json';
export const MINIMUM_SCORE = 80;

type MutantStatus = 'Killed' | 'Survived' | 'NoCoverage' | 'Timeout' | 'CompileError' | 'RuntimeError' | 'Ignored' | 'Pending';

interface Mutant {
  mutatorName: string;
  replacement?: string;
  status: MutantStatus;
  location: { start: { line: number; column: number } };
}

export interface MutationReport {
  files: Record<string, { mutants: Mutant[] }>;
}

export interface Tally {
  detected: number;
  undetected: number;
}

const DETECTED: ReadonlySet<MutantStatus> = new Set(['Killed', 'Timeout']);
const UNDETECTED: ReadonlySet<MutantStatus> = new Set(['Survived', 'NoCoverage']);

export function tally(mutants: readonly Mutant[]): Tally {
  return {
    detected: mutants.filter((m) => DETECTED.has(m.status)).length,
    undetected: mutants.filter((m) => UNDETECTED.has(m.status)).length,
  };
}

/** Percent of the valid mutants that a test detected; null when the file has none. */
export function scoreOf({ detected, undetected }: Tally): number | null {
  const valid = detected + undetected;
  return valid === 0 ? null : (100 * detected) / valid;
}

/** The two groups: the statechart and the engine core around it. */
const groupOf = (file: string) => (file.startsWith('machines/') ? 'machines/' : 'engine core (src/)');

const formatScore = (score: number | null) => (score === null ? '   n/a' : `${score.toFixed(2).padStart(6)}%`);

/** One line per mutant, short enough to read in a terminal. */
function describeMutant(file: string, mutant: Mutant): string {
  const { line, column } = mutant.location.start;
  const replacement = (mutant.replacement ?? '').replace(/\s+/g, ' ');
  const shown = replacement.length > 60 ? `${replacement.slice(0, 57)}...` : replacement;
  const status = mutant.status === 'NoCoverage' ? ' (no coverage)' : '';
  return `  ${file}:${line}:${column}  ${mutant.mutatorName}${status}  -> ${shown}`;
}

function mutantsByGroup(report: MutationReport): Map<string, Mutant[]> {
  const groups = new Map<string, Mutant[]>();
  for (const [file, { mutants }] of Object.entries(report.files)) {
    groups.set(groupOf(file), [...(groups.get(groupOf(file)) ?? []), ...mutants]);
  }
  return groups;
}

/** The groups that score below MINIMUM_SCORE, with their scores. */
export function groupsBelowMinimum(report: MutationReport): string[] {
  return [...mutantsByGroup(report)].flatMap(([group, mutants]) => {
    const score = scoreOf(tally(mutants));
    return score !== null && score < MINIMUM_SCORE ? [`${group} ${score.toFixed(2)}%`] : [];
  });
}

export function summarize(report: MutationReport): string {
  const files = Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b));
  const width = Math.max(...files.map(([file]) => file.length), 'total'.length);
  const row = (name: string, t: Tally) =>
    `${name.padEnd(width)}  ${formatScore(scoreOf(t))}  ${String(t.detected).padStart(5)}  ${String(t.undetected).padStart(5)}`;

  const lines = ['Mutation score per file', `${'file'.padEnd(width)}    score  found  missed`];
  for (const [file, { mutants }] of files) lines.push(row(file, tally(mutants)));
  lines.push('');
  for (const [group, mutants] of mutantsByGroup(report)) lines.push(row(group, tally(mutants)));
  lines.push(row('total', tally(files.flatMap(([, { mutants }]) => mutants))));

  const missed = files.flatMap(([file, { mutants }]) =>
    mutants
      .filter((m) => UNDETECTED.has(m.status))
      .sort((a, b) => a.location.start.line - b.location.start.line || a.location.start.column - b.location.start.column)
      .map((m) => describeMutant(file, m)),
  );
  lines.push('', missed.length === 0 ? 'No surviving mutants.' : `Surviving mutants (${missed.length}):`, ...missed);
  return lines.join('\n');
}

const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const report = JSON.parse(readFileSync(process.argv[2] ?? REPORT_PATH, 'utf8')) as MutationReport;
  console.log(summarize(report));
  const below = groupsBelowMinimum(report);
  if (below.length > 0) {
    console.error(`\nBelow the ${MINIMUM_SCORE}% minimum: ${below.join(', ')}`);
    process.exitCode = 1;
  }
}
