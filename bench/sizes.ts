/**
 * Bundle sizes of the built entry points (dist/), through size-limit with the budgets in .size-limit.js,
 * and what the core entry's bundle is made of (esbuild's metafile plus tsup's source maps).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import sizeLimit from 'size-limit';
import smallLib from '@size-limit/preset-small-lib';
import type { SizeRow } from './report.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface SizeCheck {
  name: string;
  path: string;
  limit?: string;
  gzip?: boolean;
  ignore?: string[];
}

export async function sizeChecks(): Promise<SizeCheck[]> {
  const module = (await import(pathToFileURL(join(ROOT, '.size-limit.js')).href)) as { default: SizeCheck[] };
  return module.default;
}

export const isBuilt = () => existsSync(join(ROOT, 'dist', 'index.js'));

/** Runs the size-limit CLI exactly as `npx size-limit` would, and returns its verdict per entry point. */
export async function measureSizes(): Promise<SizeRow[]> {
  const cli = join(ROOT, 'node_modules', 'size-limit', 'bin.js');
  const run = promisify(execFile);
  const { stdout, stderr } = await run(process.execPath, [cli, '--json'], { cwd: ROOT, maxBuffer: 1 << 24 }).catch(
    // size-limit exits non-zero when a budget is exceeded; its JSON still tells which.
    (error: { stdout?: string; stderr?: string; message: string }) => ({
      stdout: error.stdout ?? '',
      stderr: error.stderr || error.message,
    }),
  );
  let results: Array<{ name: string; size: number; sizeLimit?: number; passed?: boolean }>;
  try {
    results = JSON.parse(stdout) as typeof results;
  } catch {
    throw new Error(`size-limit gave no verdict: ${stderr || stdout}`);
  }
  return results.map((r) => ({ name: r.name, size: r.size, limit: r.sizeLimit, passed: r.passed }));
}

/** What one entry point's bundle is made of (esbuild's metafile, as size-limit's esbuild plugin ran it). */
export interface BundleInputs {
  /** Packages as `pkg:<name>`, the project's own code as its source path (e.g. `src/engine/engine.ts`). */
  modules: Set<string>;
  /** Imports left out of the bundle (the peer dependencies). */
  externals: Set<string>;
  /** Minified bytes per package (`pkg:<name>`), and `own code` for the project's. */
  bytes: Map<string, number>;
}

/** Bundles one entry point as size-limit does and reads its inputs, through the source maps of dist/ chunks. */
export async function bundleInputs(check: SizeCheck): Promise<BundleInputs> {
  const run: Record<string, unknown> = {
    files: [join(ROOT, check.path)],
    ignore: check.ignore,
    gzip: check.gzip,
    // tsup's bare chunk imports draw a warning under `sideEffects: false`; the bundle is the same without it.
    modifyEsbuildConfig: (config: object) => ({ ...config, logLevel: 'error' }),
  };
  await sizeLimit(smallLib, { checks: [run] });
  const metafile = run.esbuildMetafile as {
    outputs: Record<
      string,
      { inputs: Record<string, { bytesInOutput: number }>; imports: Array<{ path: string; external?: boolean }> }
    >;
  };
  const found: BundleInputs = { modules: new Set(), externals: new Set(), bytes: new Map() };
  const count = (key: string, bytes: number) => found.bytes.set(key, (found.bytes.get(key) ?? 0) + bytes);
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) if (imported.external) found.externals.add(imported.path);
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      if (pkg) {
        found.modules.add(`pkg:${pkg[1]}`);
        count(`pkg:${pkg[1]}`, bytesInOutput);
        continue;
      }
      count('own code', bytesInOutput);
      // esbuild names inputs relative to the working directory.
      const mapFile = resolve(process.cwd(), `${input}.map`);
      if (!existsSync(mapFile)) continue;
      const map = JSON.parse(readFileSync(mapFile, 'utf8')) as { sources: string[] };
      for (const source of map.sources) found.modules.add(resolve(dirname(mapFile), source).slice(ROOT.length + 1));
    }
  }
  return found;
}
