import { EMPTY, of } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSessionEngine, type SessionEngine, type SessionEngineOptions } from '../../src/index.js';
import { browserTabEnvironment } from '../../src/tabs/environment.js';
import { stubBrowserPage } from '../support/browserGlobals.js';
import { createTokenServer } from '../../src/testing/index.js';

/**
 * Which engines share their session with other tabs: a browser page by default (channel 'sessionchart'), or
 * any runtime given `broadcast`, and only where BroadcastChannel, IndexedDB and Web Locks all exist and the
 * store opens. Node has BroadcastChannel; IndexedDB (in memory, or failing to open) and Web Locks are stubbed.
 */

const engines: SessionEngine[] = [];
const channels: BroadcastChannel[] = [];
afterEach(() => {
  for (const engine of engines.splice(0)) engine.stop();
  for (const channel of channels.splice(0)) channel.close();
  vi.unstubAllGlobals();
});

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
    stubBrowserPage({ window: false });
    const heard = nextMessage('mutation-test-a');
    const engine = start({ broadcast: { channel: 'mutation-test-a' } });
    expect(engine.getSnapshot().status).toBe('restoring');
    expect(await heard).toEqual({ v: 1, kind: 'hello' });
  });

  it("a page shares by default, on the channel 'sessionchart'", async () => {
    stubBrowserPage();
    const heard = nextMessage('sessionchart');
    expect(start().getSnapshot().status).toBe('restoring');
    expect(await heard).toEqual({ v: 1, kind: 'hello' });
  });

  it('a page with broadcast: false is a single tab', () => {
    stubBrowserPage();
    expect(start({ broadcast: false }).getSnapshot().status).toBe('signedOut');
  });

  it('outside a page, an engine without broadcast is a single tab', () => {
    stubBrowserPage({ window: false });
    expect(start().getSnapshot().status).toBe('signedOut');
  });

  it.each([
    ['Web Locks', () => vi.stubGlobal('navigator', {})],
    ['IndexedDB', () => vi.stubGlobal('indexedDB', undefined)],
    ['BroadcastChannel', () => vi.stubGlobal('BroadcastChannel', undefined)],
  ])('a page without %s is a single tab', (_, remove) => {
    stubBrowserPage();
    remove();
    expect(browserTabEnvironment()).toBeNull();
    expect(start().getSnapshot().status).toBe('signedOut');
  });

  it('a page whose IndexedDB fails to open keeps to itself: tells the tabs nothing, serves its own sign-in', async () => {
    stubBrowserPage({ failingIndexedDB: true });
    const errors: unknown[] = [];
    const heard = nextMessage('sessionchart');
    const engine = start({ onError: (error) => errors.push(error) });
    expect(await heard).toBeNull();
    expect(engine.getSnapshot().status).toBe('signedOut');
    const signIn = createTokenServer().signIn({ lifeSeconds: 60 });
    engine.signIn(signIn);
    expect(await engine.getToken()).toBe(signIn.accessToken);
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) expect(error).toMatchObject({ code: 'session', message: expect.stringMatching(/store/) });
  });
});
