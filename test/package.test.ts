import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import * as core from 'sessionchart';
import * as server from 'sessionchart/server';
import * as oauth from 'sessionchart/oauth';
import * as viewer from 'sessionchart/viewer';
import * as authFetch from 'sessionchart/fetch';
import * as testing from 'sessionchart/testing';

/** The package's own token server signs the tokens these checks hand the engines. */
const tokens = testing.createTokenServer();

const require = createRequire(import.meta.url);

describe('the built package, imported by its name', () => {
  it('exposes the core surface with stable error codes', () => {
    expect(typeof core.createSessionEngine).toBe('function');
    expect(core.sessionMachine.id).toBe('session');
    expect([core.InvalidTokenError, core.NetworkError, core.AuthError, core.AbortError].map((E) => [E.code, new E().code]))
      .toEqual([
        ['invalid_token', 'invalid_token'],
        ['network', 'network'],
        ['auth', 'auth'],
        ['aborted', 'aborted'],
      ]);
    expect(new core.NetworkError()).toBeInstanceOf(core.SessionError);
  });

  it('runs an engine from the ESM build', async () => {
    const engine = core.createSessionEngine({ refresh: async () => tokens.signIn() });
    engine.signIn(tokens.signIn({ sid: 'pkg' }));
    expect(engine.getSnapshot()).toMatchObject({ status: 'fresh', sessionKey: 'pkg' });
    expect(await engine.getToken()).toBe(engine.peekToken());
    engine.stop();
  });

  it('exposes the adapters as subpaths', () => {
    expect(typeof server.verifySessionToken).toBe('function');
    expect(typeof oauth.createOAuthRefresh).toBe('function');
  });

  it('exposes createAuthFetch from the fetch subpath, typed as fetch, in both builds', () => {
    const engine = core.createSessionEngine({ refresh: async () => tokens.signIn() });
    const typed: typeof fetch = authFetch.createAuthFetch(engine);
    expect(typeof typed).toBe('function');
    expect(typeof (require('sessionchart/fetch') as typeof authFetch).createAuthFetch).toBe('function');
    engine.stop();
  });

  it('lays out a machine from the viewer subpath (React and elkjs resolved as peers)', async () => {
    expect(typeof viewer.StatechartViewer).toBe('function');
    const layout = await viewer.layoutMachine(core.sessionMachine);
    expect(layout.states.map((state) => state.key)).toEqual(expect.arrayContaining(['signedOut', 'fresh', 'offline.waiting']));
    expect(typeof (require('sessionchart/viewer') as typeof viewer).layoutMachine).toBe('function');
  });

  it.each(['index.js', 'index.cjs'])('keeps React and elkjs out of the core entry (%s and the chunks it loads)', (entry) => {
    const dist = new URL('../dist/', import.meta.url);
    const specifiers = (file: string) =>
      [...readFileSync(new URL(file, dist), 'utf8').matchAll(/(?:from\s*|require\()["']([^"']+)["']/g)].map((match) => match[1]!);
    const seen = new Set<string>();
    const visit = (file: string): string[] => {
      if (seen.has(file)) return [];
      seen.add(file);
      return specifiers(file).flatMap((specifier) => (specifier.startsWith('./') ? visit(specifier.slice(2)) : [specifier]));
    };
    const packages = visit(entry);
    expect(packages).toContain('xstate');
    expect(packages.filter((name) => /^(react|react-dom|elkjs|@xstate\/react)(\/|$)/.test(name))).toEqual([]);
  });

  it('shares one copy of the engine across subpaths: an error from sessionchart/oauth is one of the core classes, in ESM and in CJS', async () => {
    const unavailable = http.createServer((_request, response) => response.writeHead(503).end());
    await new Promise<void>((resolve) => unavailable.listen(0, '127.0.0.1', resolve));
    const tokenEndpoint = `http://127.0.0.1:${(unavailable.address() as AddressInfo).port}/token`;
    const builds = [
      [core, oauth],
      [require('sessionchart') as typeof core, require('sessionchart/oauth') as typeof oauth],
    ] as const;
    try {
      for (const [main, adapter] of builds) {
        const refresh = adapter.createOAuthRefresh({ tokenEndpoint, clientId: 'app', allowInsecureRequests: true });
        const context = { session: null, refreshToken: 'refresh', reason: 'stale', signal: new AbortController().signal } as const;
        const error: unknown = await refresh(context).catch((thrown: unknown) => thrown);
        expect(error).toBeInstanceOf(main.NetworkError);
        expect(error).toBeInstanceOf(main.SessionError);
      }
    } finally {
      unavailable.close();
    }
  });

  it('ships a CommonJS build with the same surface', () => {
    const cjs = require('sessionchart') as typeof core;
    expect(typeof cjs.createSessionEngine).toBe('function');
    expect(cjs.AuthError.code).toBe('auth');
    expect(typeof (require('sessionchart/server') as typeof server).verifySessionToken).toBe('function');
  });

  it('recognises errors of the other build by their code (ESM and CJS loaded side by side)', async () => {
    const cjs = require('sessionchart') as typeof core;
    const engine = core.createSessionEngine({
      refresh: async () => {
        throw new cjs.AuthError();
      },
    });
    engine.signIn(tokens.signIn());
    expect(await engine.getToken({ forceRefresh: true })).toBeNull();
    expect(engine.getSnapshot()).toMatchObject({ status: 'signedOut', error: { code: 'auth' } });
    engine.stop();
  });

  it('exposes sessionchart/testing in both builds: its refresh fails with the core error classes', async () => {
    const builds = [
      [core, testing],
      [require('sessionchart') as typeof core, require('sessionchart/testing') as typeof testing],
    ] as const;
    for (const [main, tools] of builds) {
      const server = tools.createTokenServer();
      server.failNext({ kind: '5xx' });
      const engine = main.createSessionEngine({ refresh: server.refresh });
      engine.signIn(server.signIn());
      const error: unknown = await engine.getToken({ forceRefresh: true }).catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(main.NetworkError);
      expect(server.counters).toMatchObject({ requests: 1, faults: 1 });
      engine.stop();
    }
  });
});
