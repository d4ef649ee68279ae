import { describe, expect, it } from 'vitest';
import { checkOptions, resolveConfig } from '../../src/engine/options.js';
import type { SessionEngineOptions } from '../../src/index.js';

/** The documented defaults of createSessionEngine, how given options override them, and which are refused. */

const refresh = () => Promise.reject(new Error('unused'));

describe('resolveConfig', () => {
  it('fills in the documented defaults for a single tab', () => {
    expect(resolveConfig({ refresh })).toEqual({
      refreshThresholdMs: 15_000,
      leewayMs: 5_000,
      retry: { baseMs: 1_000, maxMs: 30_000, factor: 2, jitter: true },
      callersCutBackoff: false,
      refreshTimeoutMs: 30_000,
      shareTabs: false,
      keepsSession: false,
    });
  });

  it('takes each given option over its default, zero and false included', () => {
    expect(
      resolveConfig(
        {
          refresh,
          refreshThresholdMs: 0,
          leewayMs: 0,
          refreshTimeoutMs: 0,
          retry: { baseMs: 10, maxMs: 20, factor: 3, jitter: false, callersCutBackoff: true },
        },
        true,
      ),
    ).toEqual({
      refreshThresholdMs: 0,
      leewayMs: 0,
      retry: { baseMs: 10, maxMs: 20, factor: 3, jitter: false },
      callersCutBackoff: true,
      refreshTimeoutMs: 0,
      shareTabs: true,
      keepsSession: true,
    });
  });

  it('keeps the session between starts with a storage, as with tabs', () => {
    const storage = { getItem: () => null, setItem: () => {}, removeItem: () => {} };
    expect(resolveConfig({ refresh, storage })).toMatchObject({ shareTabs: false, keepsSession: true });
  });

  it('keeps the defaults of the retry fields not given', () => {
    expect(resolveConfig({ refresh, retry: { maxMs: 5_000 } }).retry).toEqual({
      baseMs: 1_000,
      maxMs: 5_000,
      factor: 2,
      jitter: true,
    });
  });
});

/** Options as an app might get them wrong: each check throws, naming the option, before anything runs. */
const given = (options: Record<string, unknown>) => () => checkOptions({ refresh, ...options } as SessionEngineOptions);

describe('checkOptions', () => {
  it('accepts the documented shapes', () => {
    expect(
      given({
        refreshThresholdMs: 1,
        leewayMs: 0,
        refreshTimeoutMs: 10,
        retry: { baseMs: 1, maxMs: 2, factor: 1, jitter: false, callersCutBackoff: true },
        online$: { subscribe: () => {} },
        resume$: { subscribe: () => {} },
        inspect: { next: () => {} },
        onError: () => {},
        sessionKeyClaims: ['sid'],
        broadcast: { channel: 'c' },
      }),
    ).not.toThrow();
    expect(given({ inspect: () => {}, broadcast: false })).not.toThrow();
  });

  it.each([
    ['refreshThresholdMs', { refreshThresholdMs: -1 }],
    ['leewayMs', { leewayMs: Number.NaN }],
    ['refreshTimeoutMs', { refreshTimeoutMs: Infinity }],
    ['retry.baseMs', { retry: { baseMs: -1 } }],
    ['retry.maxMs', { retry: { maxMs: Number.NaN } }],
    ['retry.factor', { retry: { factor: -Infinity } }],
  ])('a negative, NaN or infinite %s is a RangeError naming it', (name, options) => {
    expect(given(options)).toThrow(RangeError);
    expect(given(options)).toThrow(name);
  });

  it.each([
    ['refresh', { refresh: 'nope' }],
    ['online$', { online$: true }],
    ['resume$', { resume$: {} }],
    ['inspect', { inspect: 5 }],
    ['onError', { onError: 'log' }],
    ['sessionKeyClaims', { sessionKeyClaims: 'sid' }],
    ['sessionKeyClaims', { sessionKeyClaims: ['sid', 1] }],
    ['broadcast', { broadcast: true }],
    ['broadcast', { broadcast: { channel: '' } }],
    ['retry', { retry: 5 }],
    ['leewayMs', { leewayMs: '5000' }],
    ['retry.jitter', { retry: { jitter: 'yes' } }],
    ['retry.callersCutBackoff', { retry: { callersCutBackoff: 1 } }],
  ])('%s of the wrong type is a TypeError naming it', (name, options) => {
    expect(given(options)).toThrow(TypeError);
    expect(given(options)).toThrow(name);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a number', 5],
    ['the refresh function itself instead of { refresh }', refresh],
  ])('options given as %s are a TypeError asking for an options object', (_, options) => {
    const check = () => checkOptions(options as SessionEngineOptions);
    expect(check).toThrow(TypeError);
    expect(check).toThrow('options object');
  });
});

const storageMethods = { getItem: () => null, setItem: () => {}, removeItem: () => {} };
const tabMethods = { claim: () => {}, open: () => {}, lock: () => {}, store: () => {} };
/** A function carrying these members: no options object (a Knockout observable is a function with a subscribe). */
const functionWith = (members: object) => Object.assign(() => {}, members);
const { removeItem: _removeItem, ...storageWithoutRemove } = storageMethods;
const { store: _store, ...tabsWithoutStore } = tabMethods;

/**
 * Option objects of the wrong shape, each refused at construction with a TypeError whose message names the option
 * (never a stray "Cannot read properties of null" from a check, nor a failure later inside a running engine).
 */
describe('checkOptions: option objects of the wrong shape', () => {
  it.each<[string, string, Record<string, unknown>]>([
    ['online$', 'null', { online$: null }],
    ['online$', 'a function with a subscribe method (a Knockout observable)', { online$: functionWith({ subscribe: () => {} }) }],
    ['resume$', 'null', { resume$: null }],
    ['inspect', 'null', { inspect: null }],
    ['inspect', 'an object without next', { inspect: {} }],
    ['inspect', 'an object whose next is no function', { inspect: { next: 'log' } }],
    ['storage', 'null', { storage: null }],
    ['storage', 'an empty object', { storage: {} }],
    ['storage', 'a storage without removeItem', { storage: storageWithoutRemove }],
    ['storage', 'a function carrying the three methods', { storage: functionWith(storageMethods) }],
    ['storage', 'a string', { storage: 'localStorage' }],
    ['broadcast', 'null', { broadcast: null }],
    ['broadcast', 'an object without a channel', { broadcast: {} }],
    ['broadcast', 'a numeric channel', { broadcast: { channel: 5 } }],
    ['broadcast', 'a function carrying a channel', { broadcast: functionWith({ channel: 'c' }) }],
    ['broadcast', 'a null environment', { broadcast: { channel: 'c', environment: null } }],
    ['broadcast', 'an empty environment', { broadcast: { channel: 'c', environment: {} } }],
    ['broadcast', 'an environment without store', { broadcast: { channel: 'c', environment: tabsWithoutStore } }],
    ['broadcast', 'an environment that is a function', { broadcast: { channel: 'c', environment: functionWith(tabMethods) } }],
    ['retry', 'null', { retry: null }],
  ])('%s given as %s is a TypeError naming it', (name, _, options) => {
    expect(given(options)).toThrow(TypeError);
    expect(given(options)).toThrow(name);
  });

  it('accepts a storage and a tab environment with every method', () => {
    expect(given({ storage: storageMethods, broadcast: { channel: 'c', environment: tabMethods } })).not.toThrow();
  });
});
