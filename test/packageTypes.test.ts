/**
 * The published package, as a user gets it: packed once (`npm pack` of the built dist/) and unpacked into a
 * consumer project's node_modules. A consumer that imports every subpath is type-checked by the repo's
 * TypeScript with `skipLibCheck: false` (the compiler's default) under each module resolution we support, from
 * ESM and from CommonJS; publint and @arethetypeswrong/cli check the same package.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../bench/sizes.js';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  license: string;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};

/**
 * The package's dependencies and peers, and the types of the React peer, as an app that uses every subpath has them;
 * Node's types for the tests that use sessionchart/testing.
 */
const INSTALLED = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies), '@types/react', '@types/node'];

/** The same source is compiled as ESM (.ts with a bundler, .mts) and as CommonJS (.cts: `require` under node16). */
const CONSUMER = `
import { NetworkError, SessionError, createSessionEngine, sessionMachine, type SessionSnapshot, type TokenSet } from 'sessionchart';
import { createConvexAuth } from 'sessionchart/convex';
import { createSessionInspector } from 'sessionchart/inspect';
import { createOAuthRefresh } from 'sessionchart/oauth';
import { useSession } from 'sessionchart/react';
import { verifySessionToken } from 'sessionchart/server';
import { syncSession } from 'sessionchart/sync';
import { StatechartViewer, layoutMachine } from 'sessionchart/viewer';

const inspector = createSessionInspector({ kind: 'websocket', autoStart: false });
const engine = createSessionEngine({
  refresh: createOAuthRefresh({ issuer: 'https://auth.example', clientId: 'app' }),
  inspect: inspector.inspect,
});
const tokens: TokenSet = { accessToken: 'opaque', expiresIn: 60 };
engine.signIn(tokens);
// @ts-expect-error the actor is typed as the session machine's: this is none of its events
engine.actor.send({ type: 'not.an.event' });

export function useSessionKey(): string | null {
  return useSession((snapshot: SessionSnapshot) => snapshot.sessionKey);
}

export const viewer = () => StatechartViewer({ machine: sessionMachine, actor: engine.actor });

export async function everySubpath(): Promise<Array<string | number | null | undefined>> {
  const webCryptoKey = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const verified = await verifySessionToken('token', { key: webCryptoKey });
  const sync = syncSession(engine, { send: async (_token: string, _signal: AbortSignal) => {}, clear: () => {} });
  sync.stop();
  const layout = await layoutMachine(sessionMachine);
  try {
    return [await createConvexAuth(engine).fetchAccessToken({ forceRefreshToken: true }), layout.states.length,
      verified.ok ? verified.sessionKey : verified.code];
  } catch (error) {
    if (error instanceof NetworkError) return [error.retryAfterMs];
    return [error instanceof SessionError ? error.code : null];
  }
}
`;

/** sessionchart/testing runs in Node: its consumer is a test, with Node's types. */
const TESTING_CONSUMER = `
import { createSessionEngine } from 'sessionchart';
import {
  checkInvariants,
  createMemoryOrigin,
  createMemoryStorage,
  createTokenHandler,
  createTokenServer,
  listen,
  type RefreshCall,
  type Violation,
} from 'sessionchart/testing';

const server = createTokenServer({ lifeSeconds: 60, reuseGraceMs: 10_000 });
const engine = createSessionEngine({
  refresh: server.refresh,
  storage: createMemoryStorage(),
  broadcast: { channel: 'app', environment: createMemoryOrigin().tab() },
});
const checker = checkInvariants(engine, server, { refreshTimeoutMs: 30_000 });
engine.signIn(server.signIn());
server.failNext({ kind: '429', retryAfterSeconds: 30 });
export const calls = server.requests as readonly RefreshCall[];
export const violations: readonly Violation[] = checker.violations;
export const url: Promise<string> = listen(createTokenHandler(server)).then((served) => served.url);
`;

const CASES = [
  { name: 'module esnext, moduleResolution bundler (ESM)', module: 'esnext', moduleResolution: 'bundler', files: ['consumer.ts'] },
  { name: 'module node16, moduleResolution node16 (ESM and CJS)', module: 'node16', moduleResolution: 'node16', files: ['consumer.mts', 'consumer.cts'] },
  { name: 'module nodenext, moduleResolution nodenext (ESM and CJS)', module: 'nodenext', moduleResolution: 'nodenext', files: ['consumer.mts', 'consumer.cts'] },
];

/** Runs a CLI, resolved as `npm run` resolves it, and returns what it printed and its exit code. */
async function cli(command: string, args: string[], cwd: string) {
  const env = { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}${delimiter}${process.env.PATH ?? ''}` };
  return run(command, args, { cwd, env, maxBuffer: 1 << 24 }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (error: { code?: number | string; stdout?: string; stderr?: string; message: string }) => ({
      code: error.code ?? 1,
      output: `${error.stdout ?? ''}${error.stderr || error.message}`,
    }),
  );
}

describe('the packed package, as a consumer gets it', () => {
  let dir: string;
  let tarball: string;
  let consumer: string;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is not built: run `npm run build` first');
    dir = mkdtempSync(join(tmpdir(), 'sessionchart-types-'));
    const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT });
    tarball = join(dir, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]!.filename);

    // Installed by hand (no registry): the tarball unpacked, its dependencies linked from this repo's node_modules.
    consumer = join(dir, 'consumer');
    const modules = join(consumer, 'node_modules');
    mkdirSync(join(modules, 'sessionchart'), { recursive: true });
    await run('tar', ['-xzf', tarball, '-C', join(modules, 'sessionchart'), '--strip-components=1']);
    for (const name of INSTALLED) {
      mkdirSync(dirname(join(modules, name)), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules', name), join(modules, name), 'dir');
    }
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    for (const extension of ['ts', 'mts', 'cts']) {
      writeFileSync(join(consumer, `consumer.${extension}`), CONSUMER);
      writeFileSync(join(consumer, `testing.${extension}`), TESTING_CONSUMER);
    }
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Type-checks `files` in the consumer with `skipLibCheck: false`; `types`: the global types it has. */
  async function typeCheck(name: string, { module, moduleResolution }: (typeof CASES)[number], files: string[], types: string[]) {
    const config = `tsconfig.${name}.${moduleResolution}.json`;
    const compilerOptions = { module, moduleResolution, target: 'ES2022', lib: ['ES2022', 'DOM'], strict: true, skipLibCheck: false, noEmit: true, types };
    writeFileSync(join(consumer, config), JSON.stringify({ compilerOptions, files }));
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const { code, output } = await cli(process.execPath, [tsc, '-p', config], consumer);
    expect(output).toBe('');
    expect(code).toBe(0);
  }

  it.each(CASES)('passes tsc with skipLibCheck false: $name', (testCase) => typeCheck('consumer', testCase, testCase.files, []));

  it.each(CASES)('passes tsc with skipLibCheck false for sessionchart/testing, with Node types: $name', (testCase) =>
    typeCheck('testing', testCase, testCase.files.map((file) => file.replace('consumer', 'testing')), ['node']),
  );

  it('ships the MIT license that package.json names', () => {
    const license = readFileSync(join(consumer, 'node_modules', 'sessionchart', 'LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) 2026 sessionchart contributors\n/);
    expect(pkg.license).toBe('MIT');
  });

  it('passes publint, warnings included', async () => {
    // The unpacked tarball is exactly what is published: lint it as it is rather than packing it again.
    const { code, output } = await cli('publint', [join(consumer, 'node_modules', 'sessionchart'), '--pack', 'false', '--strict'], dir);
    expect(code, output).toBe(0);
  });

  it('passes @arethetypeswrong/cli', async () => {
    // The node16 profile checks node16 (from ESM and from CJS) and bundler. It leaves out node10, which predates
    // `exports` and so cannot reach any subpath (TypeScript deprecates it); the JSON still lists those.
    const { code, output } = await cli('attw', [tarball, '--profile', 'node16', '--format', 'json'], dir);
    expect(code, output).toBe(0);
    const { analysis } = JSON.parse(output) as { analysis: { problems: Array<{ resolutionKind?: string }> } };
    expect(analysis.problems.filter((problem) => problem.resolutionKind !== 'node10')).toEqual([]);
  });
});
