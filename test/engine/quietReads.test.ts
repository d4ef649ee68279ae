import { describe, expect, it, vi } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { T0, createHarness, useEngineClock } from '../support/engineHarness.js';

useEngineClock();

/**
 * Reads send the machine nothing while the token is fresh by the clock (no clock.check): `fresh` would ignore
 * it, so an inspector shows only events that can matter. getSnapshot never sends anything (React calls it
 * during render); a getToken once the clock says otherwise moves the machine on.
 */
describe('reads', () => {
  function inspected() {
    const events: Array<{ type: string; now?: number }> = [];
    const h = createHarness({
      inspect: (event: InspectionEvent) => {
        // Events to the session machine itself (the root), not those it sends its children.
        if (event.type === '@xstate.event' && event.actorRef.sessionId === event.rootId) events.push(event.event);
      },
    });
    return { h, events };
  }

  it('getToken, getSnapshot and peekToken send no event while the token is fresh', async () => {
    const { h, events } = inspected();
    const { accessToken } = h.signIn({ sid: 's1' });
    events.length = 0;
    expect(await h.getToken()).toBe(accessToken);
    expect(h.engine.getSnapshot().status).toBe('fresh');
    expect(h.peekToken()).toBe(accessToken);
    expect(events).toEqual([]);
  });

  it('getSnapshot is a pure read: past the refresh lead it says stale and sends the machine nothing', () => {
    const { h, events } = inspected();
    h.signIn({ sid: 's1' });
    events.length = 0;
    const notified = vi.fn();
    h.engine.actor.subscribe(notified);
    vi.setSystemTime(T0 + 45_000); // a sleep: the timer did not fire
    expect(h.engine.getSnapshot().status).toBe('stale');
    vi.setSystemTime(T0 + 70_000); // expired: never reported fresh either
    expect(h.engine.getSnapshot().status).toBe('stale');
    expect(events).toEqual([]);
    expect(notified).not.toHaveBeenCalled();
    expect(h.engine.actor.getSnapshot().value).toBe('fresh');
  });

  it('a getToken after the clock passed the refresh lead serves the stale token and starts one refresh', async () => {
    const { h, events } = inspected();
    const { accessToken } = h.signIn({ sid: 's1' });
    events.length = 0;
    vi.setSystemTime(T0 + 45_000);
    expect(await h.getToken()).toBe(accessToken);
    expect(events[0]).toEqual({ type: 'clock.check', now: T0 + 45_000 });
    expect(h.calls).toHaveLength(1);
  });
});

/**
 * A herd of callers waiting on one refresh: XState notifies every observer of every event, so a no-op event
 * per caller would wake every earlier caller (O(n²)). Callers send only what the machine would take.
 */
describe('callers waiting on one refresh', () => {
  it('send the machine nothing while it is refreshing', async () => {
    const h = createHarness();
    h.signIn({ sid: 's1', lifeSeconds: 60 });
    vi.setSystemTime(T0 + 58_000); // expired by the leeway, and the timer slept
    const first = h.getToken();
    expect(h.engine.getSnapshot().status).toBe('refreshing');
    const events: string[] = [];
    const subscription = h.engine.actor.subscribe(() => events.push(h.engine.actor.getSnapshot().value as string));
    const herd = Array.from({ length: 50 }, () => h.getToken());
    h.engine.getSnapshot();
    expect(events).toEqual([]);
    const { accessToken } = h.lastCall().respond({ sid: 's1' });
    expect(await Promise.all([first, ...herd])).toEqual(Array(51).fill(accessToken));
    expect(h.calls).toHaveLength(1);
    subscription.unsubscribe();
  });
});

describe('getToken on a fresh token', () => {
  it('hands every caller the same resolved promise until the token changes', async () => {
    const h = createHarness();
    const { accessToken } = h.signIn({ sid: 's1' });
    const first = h.engine.getToken();
    expect(h.engine.getToken()).toBe(first);
    expect(await first).toBe(accessToken);
    const forced = h.getToken({ forceRefresh: true });
    const next = h.lastCall().respond({ sid: 's1' });
    expect(await forced).toBe(next.accessToken);
    const after = h.engine.getToken();
    expect(after).not.toBe(first);
    expect(await after).toBe(next.accessToken);
  });
});
