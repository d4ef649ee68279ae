/**
 * Bundle budgets (issue 6): every public entry point, as built in dist/, bundled by size-limit with its
 * dependencies (peer dependencies left out), minified and gzipped, stays within its budget in
 * .size-limit.js; the core entry carries no adapter, viewer or testing code; and sessionchart/testing is its own
 * modules, the in-memory origin and the error classes, with Node's built-ins left to Node. `npm test` builds dist/ first.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleInputs, measureSizes, ROOT, sizeChecks, type SizeCheck } from '../bench/sizes.js';

type Exports = Record<string, string | { import: { default: string } }>;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Exports };
const entries = Object.entries(pkg.exports).flatMap(([subpath, target]) =>
  typeof target === 'string' ? [] : [{ subpath, file: target.import.default.replace(/^\.\//, '') }],
);

/** Source folders of the adapters, the viewer and the test tools, and the packages only they use. */
const NOT_IN_CORE = {
  sources: /^src\/(react|convex|sync|inspect|oauth|server|viewer|fetch|testing)\//,
  packages: /^pkg:(react|react-dom|scheduler|@xstate\/react|convex|@statelyai\/inspect|oauth4webapi|elkjs)$/,
};

describe('bundle size budgets (size-limit on dist/)', () => {
  let checks: SizeCheck[];

  beforeAll(async () => {
    const missing = entries.map((entry) => entry.file).filter((file) => !existsSync(join(ROOT, file)));
    if (missing.length > 0) throw new Error(`dist/ is not built (missing ${missing.join(', ')}): run \`npm run build\` first`);
    checks = await sizeChecks();
  });

  it('gives every subpath in package.json exports a budget', () => {
    const budgeted = new Map(checks.map((check) => [check.path.replace(/^\.\//, ''), check.limit]));
    expect(entries.filter((entry) => !budgeted.get(entry.file)).map((entry) => entry.subpath)).toEqual([]);
    expect(checks).toHaveLength(entries.length);
  });

  it('keeps every entry point within its budget, the core at most 32 kB', async () => {
    const core = checks.find((check) => check.name === 'sessionchart');
    expect(core?.limit).toBe('32 kB');
    const sizes = await measureSizes();
    expect(sizes.map((row) => row.name).sort()).toEqual(checks.map((check) => check.name).sort());
    const over = sizes.filter((row) => !row.passed).map((row) => `${row.name}: ${row.size} B, budget ${row.limit} B`);
    expect(over).toEqual([]);
  });

  it('keeps adapters, the viewer, the test tools and their dependencies out of the core entry', async () => {
    const core = checks.find((check) => check.name === 'sessionchart')!;
    const { modules, externals } = await bundleInputs(core);
    // The bundle is read through the source maps of dist/ chunks: the engine itself must show.
    expect(modules).toContain('src/engine/engine.ts');
    expect(modules).toContain('pkg:xstate');
    const leaked = [...modules].filter((module) => NOT_IN_CORE.sources.test(module) || NOT_IN_CORE.packages.test(module));
    expect(leaked).toEqual([]);
    expect([...externals]).toEqual([]);
  });

  it('builds sessionchart/fetch from its own modules and the error classes only: no engine, machine or package', async () => {
    const { modules, externals } = await bundleInputs(checks.find((check) => check.name === 'sessionchart/fetch')!);
    expect([...modules].filter((module) => !/^(src\/fetch\/|src\/errors\.ts$|machines\/errors\.ts$)/.test(module))).toEqual([]);
    expect(modules).toContain('src/fetch/index.ts');
    expect([...externals]).toEqual([]);
  });

  it('builds sessionchart/testing from its own modules, the in-memory origin and the error classes, leaving Node built-ins to Node', async () => {
    const { modules, externals } = await bundleInputs(checks.find((check) => check.name === 'sessionchart/testing')!);
    const allowed = /^(src\/testing\/|src\/tabs\/(memoryOrigin|environment)\.ts$|src\/errors\.ts$|machines\/errors\.ts$)/;
    expect([...modules].filter((module) => !allowed.test(module))).toEqual([]);
    expect(modules).toContain('src/testing/tokenServer.ts');
    expect(modules).toContain('src/tabs/memoryOrigin.ts');
    expect([...externals].sort()).toEqual(['crypto', 'http']);
  });
});
