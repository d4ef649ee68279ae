import { EMPTY, of } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SessionError, createSessionEngine, type SessionEngine, type SessionEngineOptions } from '../../src/index.js';
import type { TabEnvironment } from '../../src/tabs/environment.js';
import { createMemoryOrigin } from '../../src/tabs/memoryOrigin.js';
import { stubBrowserPage } from '../support/browserGlobals.js';
import { checkInvariants, createTokenServer, flushPromises, type InvariantChecker, type TokenServer } from '../../src/testing/index.js';
import { useFakeClock } from '../support/tabOrigin.js';

/**
 * Two engines of one page (two APIs, two providers) never adopt each other's session by accident: a second live
 * engine on a channel the page already uses fails at creation with a SessionError naming the channel; a stopped
 * engine frees it (hot module reload stops the old engine, then makes a new one); two channels are two sessions.
 */

const engines: SessionEngine[] = [];
let server: TokenServer;
let checker: InvariantChecker;
/** Each engine's channel, by its name as its requests' client: the engines that share a lock. */
const channels = new Map<string, string>();
beforeEach(() => {
  useFakeClock();
  server = createTokenServer();
  checker = checkInvariants([], server, { groupOf: (request) => channels.get(request.client) ?? request.client });
});
afterEach(() => {
  try {
    expect(checker.violations).toEqual([]);
  } finally {
    for (const engine of engines.splice(0)) engine.stop();
    checker.stop();
    vi.unstubAllGlobals();
    vi.useRealTimers();
  }
});

function start(broadcast: SessionEngineOptions['broadcast']) {
  const name = `engine ${engines.length}`;
  const refresh = server.refreshFor(name);
  const engine = createSessionEngine({ refresh, broadcast, online$: of(true), resume$: EMPTY, onError: () => {} });
  channels.set(name, broadcast ? broadcast.channel : name);
  checker.watch(engine, name);
  engines.push(engine);
  return engine;
}

/** What creating an engine threw, or null. */
function creationError(broadcast: SessionEngineOptions['broadcast']): unknown {
  try {
    start(broadcast);
    return null;
  } catch (error) {
    return error;
  }
}

describe.each<[string, () => { page: () => TabEnvironment | undefined; channel: string }]>([
  [
    'an injected environment (one origin.tab() per page)',
    () => {
      const page = createMemoryOrigin().tab();
      return { page: () => page, channel: 'api' };
    },
  ],
  [
    "the browser's default on its default channel",
    () => {
      stubBrowserPage();
      return { page: () => undefined, channel: 'sessionchart' };
    },
  ],
])('two engines of one page, through %s', (_, setUp) => {
  const broadcastOf = (environment: TabEnvironment | undefined, channel: string) =>
    environment ? { channel, environment } : { channel };

  it('the second on the same channel fails at creation, naming it', () => {
    const { page, channel } = setUp();
    start(broadcastOf(page(), channel));
    const error = creationError(broadcastOf(page(), channel));
    expect(error).toBeInstanceOf(SessionError);
    expect(error).toMatchObject({ code: 'session', message: expect.stringContaining(`"${channel}"`) });
    expect(engines).toHaveLength(1);
  });

  it('a stopped engine frees its channel, as hot module reload needs', async () => {
    const { page, channel } = setUp();
    const old = start(broadcastOf(page(), channel));
    old.signIn(server.signIn());
    old.stop();
    const reloaded = start(broadcastOf(page(), channel));
    await vi.advanceTimersByTimeAsync(1_000);
    const signIn = server.signIn();
    reloaded.signIn(signIn);
    expect(await reloaded.getToken()).toBe(signIn.accessToken);
    // And the registry holds it again.
    expect(creationError(broadcastOf(page(), channel))).toMatchObject({ code: 'session' });
  });
});

describe('two channels', () => {
  it('in one page are two independent sessions', async () => {
    const page = createMemoryOrigin().tab();
    const api = start({ channel: 'api', environment: page });
    const files = start({ channel: 'files', environment: page });
    await vi.advanceTimersByTimeAsync(1_000);
    const apiSignIn = server.signIn();
    api.signIn(apiSignIn);
    await flushPromises();
    expect(files.getSnapshot().status).toBe('signedOut');
    const filesSignIn = server.signIn();
    files.signIn(filesSignIn);
    await flushPromises();
    // Each refreshes its own session; a sign-out in one leaves the other signed in.
    await vi.advanceTimersByTimeAsync(45_000);
    await flushPromises();
    expect(server.counters.requests).toBe(2);
    expect(api.getSnapshot().sessionKey).not.toBe(files.getSnapshot().sessionKey);
    api.signOut();
    await flushPromises();
    expect(files.getSnapshot().status).toBe('fresh');
    expect(api.getSnapshot().status).toBe('signedOut');
  });

  it('across the tabs of an origin keep each session to the engines on its channel', async () => {
    const origin = createMemoryOrigin();
    const pages = [origin.tab(), origin.tab()];
    const [apiA, filesA, apiB, filesB] = ([[0, 'api'], [0, 'files'], [1, 'api'], [1, 'files']] as const).map(
      ([page, channel]) => start({ channel, environment: pages[page]! }),
    );
    await vi.advanceTimersByTimeAsync(1_000);
    apiA!.signIn(server.signIn());
    await flushPromises();
    expect(apiB!.peekToken()).toBe(apiA!.peekToken());
    expect([filesA!.getSnapshot().status, filesB!.getSnapshot().status]).toEqual(['signedOut', 'signedOut']);
    filesB!.signIn(server.signIn());
    await flushPromises();
    expect(filesA!.peekToken()).toBe(filesB!.peekToken());
    expect(filesA!.peekToken()).not.toBe(apiA!.peekToken());
  });
});
