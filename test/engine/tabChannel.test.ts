import { EMPTY, of } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSessionEngine, type SessionEngine, type SessionEngineOptions } from '../../src/index.js';

/**
 * Which engines share their session with other tabs: a browser page by default (channel 'sessionchart'), or
 * any runtime given `broadcast`, and only where BroadcastChannel, IndexedDB and Web Locks all exist. Node has
 * BroadcastChannel; the other two are stubbed here (nothing touches IndexedDB before a refresh).
 */

const engines: SessionEngine[] = [];
const channels: BroadcastChannel[] = [];
afterEach(() => {
  for (const engine of engines.splice(0)) engine.stop();
  for (const channel of channels.splice(0)) channel.close();
  vi.unstubAllGlobals();
});

function stubTabApis({ window = false } = {}) {
  vi.stubGlobal('indexedDB', {});
  vi.stubGlobal('navigator', { locks: { request: () => new Promise(() => {}) } });
  if (window) vi.stubGlobal('window', new EventTarget());
}

function start(options: Partial<SessionEngineOptions> = {}) {
  const engine = createSessionEngine({
    refresh: () => Promise.reject(new Error('unused')),
    online$: of(true),
    resume$: EMPTY,
    ...options,
  });
  engines.push(engine);
  return engine;
}

/** The next message on a channel, as another tab would see it; `null` if none comes within a second. */
function nextMessage(name: string): Promise<unknown> {
  const channel = new BroadcastChannel(name);
  channels.push(channel);
  return new Promise((resolve) => {
    const silence = setTimeout(() => resolve(null), 1_000);
    channel.onmessage = (event: MessageEvent) => {
      clearTimeout(silence);
      resolve(event.data);
    };
  });
}

describe('sharing the session with other tabs', () => {
  it('an engine given a channel asks the tabs on it for their session', async () => {
    stubTabApis();
    const heard = nextMessage('mutation-test-a');
    const engine = start({ broadcast: { channel: 'mutation-test-a' } });
    expect(engine.getSnapshot().status).toBe('restoring');
    expect(await heard).toEqual({ v: 1, kind: 'hello' });
  });

  it("a page shares by default, on the channel 'sessionchart'", async () => {
    stubTabApis({ window: true });
    const heard = nextMessage('sessionchart');
    expect(start().getSnapshot().status).toBe('restoring');
    expect(await heard).toEqual({ v: 1, kind: 'hello' });
  });

  it('a page with broadcast: false is a single tab', () => {
    stubTabApis({ window: true });
    expect(start({ broadcast: false }).getSnapshot().status).toBe('signedOut');
  });

  it('outside a page, an engine without broadcast is a single tab', () => {
    stubTabApis();
    expect(start().getSnapshot().status).toBe('signedOut');
  });

  it('a page without Web Locks is a single tab', () => {
    stubTabApis({ window: true });
    vi.stubGlobal('navigator', {});
    expect(start().getSnapshot().status).toBe('signedOut');
  });
});
