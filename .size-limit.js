/**
 * Bundle budgets per public entry point: minified and gzipped, with the entry's dependencies bundled and
 * its peer dependencies (React, @xstate/react) left out, as an app that already has them would pay.
 * Every subpath in package.json `exports` needs a budget here (test/size.test.ts checks that).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const budgets = {
  '.': '32 kB',
  './server': '12 kB',
  './oauth': '12 kB',
  './react': '30 kB',
  './convex': '30 kB',
  './sync': '30 kB',
  './inspect': '30 kB',
  './viewer': '30 kB',
  './fetch': '2 kB',
  './testing': '10 kB',
};

/** sessionchart/testing runs in Node: its Node built-ins are the platform's, not part of a bundle. */
const nodeOnly = { './testing': ['crypto', 'http'] };

const pkg = JSON.parse(readFileSync(join(import.meta.dirname, 'package.json'), 'utf8'));
const peers = Object.keys(pkg.peerDependencies ?? {});

export default Object.entries(pkg.exports)
  .filter(([subpath]) => subpath !== './package.json')
  .map(([subpath, target]) => ({
    name: subpath === '.' ? 'sessionchart' : `sessionchart/${subpath.slice(2)}`,
    path: target.import.default,
    limit: budgets[subpath],
    gzip: true,
    ignore: [...peers, ...(nodeOnly[subpath] ?? [])],
  }));
