import { describe, expect, it, vi } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { T0, createHarness, useEngineClock } from '../support/engineHarness.js';

useEngineClock();

/**
 * Reads of a token that is fresh by the clock send the machine nothing (no clock.check): `fresh` would ignore
 * it, so an inspector shows only events that can matter. Once the clock says otherwise, a read moves it on.
 */
describe('reads of a fresh token', () => {
  function inspected() {
    const checks: number[] = [];
    const h = createHarness({
      inspect: (event: InspectionEvent) => {
        if (event.type === '@xstate.event' && event.event.type === 'clock.check') checks.push(event.event.now);
      },
    });
    return { h, checks };
  }

  it('getToken, getSnapshot and peekToken send no event while the token is fresh', async () => {
    const { h, checks } = inspected();
    const { accessToken } = h.signIn({ sid: 's1' });
    expect(await h.getToken()).toBe(accessToken);
    expect(h.engine.getSnapshot().status).toBe('fresh');
    expect(h.peekToken()).toBe(accessToken);
    expect(checks).toEqual([]);
  });

  it('a read after the clock passed the refresh lead checks the clock and finds the token stale', () => {
    const { h, checks } = inspected();
    h.signIn({ sid: 's1' });
    vi.setSystemTime(T0 + 45_000); // a sleep: the timer did not fire
    expect(h.engine.getSnapshot().status).toBe('stale');
    expect(checks).toEqual([T0 + 45_000]);
  });

  it('a getToken after the clock passed the refresh lead serves the stale token and starts one refresh', async () => {
    const { h, checks } = inspected();
    const { accessToken } = h.signIn({ sid: 's1' });
    vi.setSystemTime(T0 + 45_000);
    expect(await h.getToken()).toBe(accessToken);
    expect(checks).toEqual([T0 + 45_000]);
    expect(h.calls).toHaveLength(1);
  });
});
