import { describe, expect, it, vi } from 'vitest';
import { createHarness, flush, useEngineClock } from '../support/engineHarness.js';

useEngineClock();

describe('broadcast where Web Locks or IndexedDB are missing (Node has BroadcastChannel only)', () => {
  it('behaves as a single tab: no restoring, signs in and refreshes on its own', async () => {
    expect(typeof BroadcastChannel).toBe('function');
    expect((globalThis.navigator as { locks?: unknown } | undefined)?.locks).toBeUndefined();
    const h = createHarness({ broadcast: { channel: 'single' } });
    expect(h.engine.getSnapshot().status).toBe('signedOut');

    h.signIn({ sid: 's1' });
    expect(h.engine.getSnapshot().status).toBe('fresh');
    await vi.advanceTimersByTimeAsync(45_000);
    expect(h.calls).toHaveLength(1);
    const { accessToken } = h.lastCall().respond({ sid: 's1' });
    await flush();
    expect(h.peekToken()).toBe(accessToken);
  });
});
