import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/engine/engine.js';

/** The documented defaults of createSessionEngine, and how given options override them one by one. */

const refresh = () => Promise.reject(new Error('unused'));

describe('resolveConfig', () => {
  it('fills in the documented defaults for a single tab', () => {
    expect(resolveConfig({ refresh })).toEqual({
      refreshThresholdMs: 15_000,
      leewayMs: 5_000,
      retry: { baseMs: 1_000, maxMs: 30_000, factor: 2, jitter: true },
      callersCutBackoff: true,
      shareTabs: false,
    });
  });

  it('takes each given option over its default, zero and false included', () => {
    expect(
      resolveConfig(
        {
          refresh,
          refreshThresholdMs: 0,
          leewayMs: 0,
          retry: { baseMs: 10, maxMs: 20, factor: 3, jitter: false, callersCutBackoff: false },
        },
        true,
      ),
    ).toEqual({
      refreshThresholdMs: 0,
      leewayMs: 0,
      retry: { baseMs: 10, maxMs: 20, factor: 3, jitter: false },
      callersCutBackoff: false,
      shareTabs: true,
    });
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
