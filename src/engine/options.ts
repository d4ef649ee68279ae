import type { SessionConfig } from '../../machines/types.js';
import type { SessionEngineOptions } from '../types.js';
import { DEFAULT_SESSION_KEY_CLAIMS } from './claims.js';

/**
 * `createSessionEngine`'s options, checked when the engine is made: a wrong type throws `TypeError`, a duration
 * or factor that is negative, NaN or infinite throws `RangeError`, each naming the option. Caught here, they
 * never surface later from inside XState, where no `try` around `createSessionEngine` could catch them.
 */

const isObservable = (value: unknown) =>
  typeof value === 'object' && value !== null && typeof (value as { subscribe?: unknown }).subscribe === 'function';

const isObserver = (value: unknown) =>
  typeof value === 'object' && value !== null && typeof (value as { next?: unknown }).next === 'function';

const hasMethods = (value: unknown, methods: readonly string[]) =>
  typeof value === 'object' &&
  value !== null &&
  methods.every((method) => typeof (value as Record<string, unknown>)[method] === 'function');

const isTabEnvironment = (value: unknown) => hasMethods(value, ['claim', 'open', 'lock', 'store']);

function figure(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number`);
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite number of at least 0`);
  return value;
}

function flag(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean`);
  return value;
}

function expect(ok: boolean, message: string): void {
  if (!ok) throw new TypeError(message);
}

/** Throws on options of the wrong type or range; returns nothing, so callers read the options they checked. */
export function checkOptions(options: SessionEngineOptions): void {
  expect(typeof options === 'object' && options !== null, 'createSessionEngine takes an options object');
  expect(typeof options.refresh === 'function', 'refresh must be a function');
  expect(options.online$ === undefined || isObservable(options.online$), 'online$ must be an Observable');
  expect(options.resume$ === undefined || isObservable(options.resume$), 'resume$ must be an Observable');
  expect(
    options.inspect === undefined || typeof options.inspect === 'function' || isObserver(options.inspect),
    'inspect must be an inspection observer or function',
  );
  expect(options.onError === undefined || typeof options.onError === 'function', 'onError must be a function');
  expect(
    options.storage === undefined || hasMethods(options.storage, ['getItem', 'setItem', 'removeItem']),
    'storage must have getItem, setItem and removeItem',
  );
  const claims = options.sessionKeyClaims;
  expect(
    claims === undefined || (Array.isArray(claims) && claims.every((claim) => typeof claim === 'string')),
    'sessionKeyClaims must be an array of strings',
  );
  const broadcast = options.broadcast;
  expect(
    broadcast === undefined ||
      broadcast === false ||
      (typeof broadcast === 'object' &&
        broadcast !== null &&
        typeof broadcast.channel === 'string' &&
        broadcast.channel !== '' &&
        (broadcast.environment === undefined || isTabEnvironment(broadcast.environment))),
    'broadcast must be false or { channel: string, environment?: TabEnvironment }',
  );
  expect(options.retry === undefined || (typeof options.retry === 'object' && options.retry !== null), 'retry must be an object');
  resolveConfig(options);
}

/** The machine's configuration: the documented defaults, each given option (zero and false included) over them. */
export function resolveConfig(options: SessionEngineOptions, shareTabs = false): SessionConfig {
  const retry = options.retry ?? {};
  return {
    refreshThresholdMs: figure('refreshThresholdMs', options.refreshThresholdMs, 15_000),
    leewayMs: figure('leewayMs', options.leewayMs, 5_000),
    retry: {
      baseMs: figure('retry.baseMs', retry.baseMs, 1_000),
      maxMs: figure('retry.maxMs', retry.maxMs, 30_000),
      factor: figure('retry.factor', retry.factor, 2),
      jitter: flag('retry.jitter', retry.jitter, true),
    },
    callersCutBackoff: flag('retry.callersCutBackoff', retry.callersCutBackoff, false),
    refreshTimeoutMs: figure('refreshTimeoutMs', options.refreshTimeoutMs, 30_000),
    shareTabs,
    keepsSession: shareTabs || options.storage !== undefined,
  };
}

export const sessionKeyClaimsOf = (options: SessionEngineOptions): readonly string[] =>
  options.sessionKeyClaims ?? DEFAULT_SESSION_KEY_CLAIMS;
