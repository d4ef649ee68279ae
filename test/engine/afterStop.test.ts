import { afterEach, describe, expect, it, vi } from 'vitest';
import { AbortError } from '../../src/index.js';
import { createHarness, flush, track, useEngineClock } from '../support/engineHarness.js';

useEngineClock();
afterEach(() => vi.restoreAllMocks());

/**
 * A stopped engine says so: calls settle or throw with AbortError at once instead of hanging or being dropped,
 * and nothing is sent to the stopped actor (XState's development build would log the event, tokens and all).
 */

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

function spyOnConsole() {
  return CONSOLE_METHODS.map((method) => vi.spyOn(console, method).mockImplementation(() => {}));
}

function thrownBy(action: () => void): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return null;
}

describe('after stop()', () => {
  it('getToken rejects and signIn and rotate throw, all with AbortError; peekToken is null; nothing is logged', async () => {
    const h = createHarness();
    h.signIn({ refreshToken: 'rt-1' });
    const consoleSpies = spyOnConsole();
    h.engine.stop();

    const plain = track(h.engine.getToken());
    const forced = track(h.engine.getToken({ forceRefresh: true }));
    await flush();
    for (const result of [plain, forced]) {
      expect(result.settled).toBe(true);
      expect(result.error).toBeInstanceOf(AbortError);
      expect((result.error as AbortError).code).toBe('aborted');
    }
    const next = h.issue({ refreshToken: 'rt-2' });
    for (const action of [() => h.engine.signIn(next), () => h.engine.rotate()]) {
      const thrown = thrownBy(action);
      expect(thrown).toBeInstanceOf(AbortError);
      expect((thrown as AbortError).code).toBe('aborted');
    }
    expect(h.peekToken()).toBeNull();
    h.engine.signOut(); // quietly nothing
    await vi.advanceTimersByTimeAsync(3_600_000);

    expect(h.calls).toHaveLength(0);
    // Not a line: so neither of the tokens, which XState's development build prints with a dropped event.
    for (const spy of consoleSpies) expect(spy).not.toHaveBeenCalled();
  });
});

describe('stop()', () => {
  it("lets go of the app's online$ and resume$: a stopped engine listens to nothing", async () => {
    const h = createHarness();
    h.signIn();
    expect([h.online$.observed, h.resume$.observed]).toEqual([true, true]);
    h.engine.stop();
    await flush();
    expect([h.online$.observed, h.resume$.observed]).toEqual([false, false]);
  });
});
