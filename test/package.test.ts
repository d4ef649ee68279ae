import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as core from 'sessionchart';
import * as server from 'sessionchart/server';
import * as oauth from 'sessionchart/oauth';
import { mint } from './support/tokens.js';

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
    const engine = core.createSessionEngine({ refresh: async () => mint() });
    engine.signIn(mint({ sid: 'pkg' }));
    expect(engine.getSnapshot()).toMatchObject({ status: 'fresh', sessionKey: 'pkg' });
    expect(await engine.getToken()).toBe(engine.peekToken());
    engine.stop();
  });

  it('exposes the adapters as subpaths', () => {
    expect(typeof server.verifySessionToken).toBe('function');
    expect(typeof oauth.createOAuthRefresh).toBe('function');
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
    engine.signIn(mint());
    expect(await engine.getToken({ forceRefresh: true })).toBeNull();
    expect(engine.getSnapshot()).toMatchObject({ status: 'signedOut', error: { code: 'auth' } });
    engine.stop();
  });
});
