import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { AuthError, NetworkError, createSessionEngine } from 'sessionchart';
import type { TokenSet } from 'sessionchart';
import {
  createSessionInspector,
  redactInspection,
  redactSecrets,
  tokenFingerprint,
  type InspectObserver,
  type RedactedToken,
} from 'sessionchart/inspect';
import { createHarness, flush, useEngineClock, type Harness } from './support/engineHarness.js';
import { descriptionsIn, eventTypesIn, leaksIn, safeJson, statesIn } from './support/inspection.js';
import { createMemoryOrigin } from '../src/tabs/memoryOrigin.js';
import { RESTORE_WAIT_MS } from '../src/tabs/tabActors.js';
import { signJwt } from '../src/testing/index.js';

useEngineClock();

/** The description that stands in for `token`. */
const described = (token: string, sessionKey: string | null, expiresAt: number | null): RedactedToken => ({
  redacted: 'token',
  sessionKey,
  expiresAt,
  fingerprint: tokenFingerprint(token),
});

/** An opaque refresh token, long enough for the substring check. */
const secret = (label: string) => `rt-${label}-${randomUUID()}`;

interface Trace {
  access: { token: string; sessionKey: string; expiresAt: number }[];
  refresh: { token: string; sessionKey: string }[];
  /** Tokens that passed through the machine without ever being served (a request sent before a rotation). */
  unserved: string[];
}

const allTokens = (trace: Trace) => [...trace.access, ...trace.refresh].map(({ token }) => token).concat(trace.unserved);

/**
 * Drives one engine through every state: signedOut, fresh, stale, refreshing, offline (waiting, backingOff open
 * and firm), rotated (awaitingRequest, fetching, backingOff), a token from another tab, and signedOut after an
 * auth failure; every request goes through the request child (a single tab's: idle, alone) and its report.
 */
async function driveFullSession(h: Harness): Promise<Trace> {
  const trace: Trace = { access: [], refresh: [], unserved: [] };
  /** Records the token set the engine now holds. */
  const held = async (set: TokenSet, sessionKey: string) => {
    await flush();
    trace.access.push({ token: set.accessToken, sessionKey, expiresAt: h.engine.getSnapshot().expiresAt as number });
    trace.refresh.push({ token: set.refreshToken as string, sessionKey });
  };
  const isIn = (state: object) => h.engine.actor.getSnapshot().matches(state as never);
  expect(h.engine.getSnapshot().status).toBe('signedOut');
  await held(h.signIn({ refreshToken: secret('first') }), 's1');
  await vi.advanceTimersByTimeAsync(45_000); // stale, then refreshing
  await held(h.lastCall().respond({ refreshToken: secret('second') }), 's1');

  h.online$.next(false);
  expect(isIn({ offline: 'waiting' })).toBe(true);
  h.online$.next(true);
  await vi.advanceTimersByTimeAsync(45_000);
  h.lastCall().fail(new NetworkError());
  await flush();
  expect(isIn({ offline: { backingOff: 'open' } })).toBe(true);
  h.resume$.next(); // a wake-up makes the step's attempt; its failure makes the next step firm
  await flush();
  h.lastCall().fail(new NetworkError());
  await flush();
  expect(isIn({ offline: { backingOff: 'firm' } })).toBe(true);
  await vi.advanceTimersByTimeAsync(2_000);
  await held(h.lastCall().respond({ refreshToken: secret('third') }), 's1');

  await vi.advanceTimersByTimeAsync(45_000); // a refresh is out when the session rotates
  h.engine.rotate();
  expect(isIn({ rotated: 'awaitingRequest' })).toBe(true);
  const beforeRotation = h.lastCall().respond({ refreshToken: secret('kept') }); // its access token is never served
  trace.unserved.push(beforeRotation.accessToken);
  trace.refresh.push({ token: beforeRotation.refreshToken as string, sessionKey: 's1' });
  await flush();
  expect(h.lastCall().ctx).toMatchObject({ reason: 'rotated', refreshToken: beforeRotation.refreshToken });
  h.lastCall().fail(new NetworkError());
  await flush();
  expect(isIn({ rotated: { backingOff: 'open' } })).toBe(true);
  await vi.advanceTimersByTimeAsync(1_000);
  await held(h.lastCall().respond({ sid: 's2', refreshToken: secret('fourth') }), 's2');

  await vi.advanceTimersByTimeAsync(5_000);
  const fromTab = h.issue({ sid: 's2', refreshToken: secret('fifth') });
  const now = Date.now();
  const expiry = { expiresAt: now + 60_000, issuedAt: now, serverOffsetMs: 0 };
  const token = { ...fromTab, ...expiry, sessionKey: 's2', userId: 'user-1' };
  h.engine.actor.send({ type: 'tab.token', token, session: h.engine.actor.getSnapshot().context.session!, now });
  expect(h.peekToken()).toBe(fromTab.accessToken); // the live context keeps the real token
  await held(fromTab, 's2');

  await vi.advanceTimersByTimeAsync(45_000);
  h.lastCall().fail(new AuthError());
  await flush();
  expect(h.engine.getSnapshot()).toMatchObject({ status: 'signedOut', error: { code: 'auth' } });
  h.engine.stop();
  await vi.advanceTimersByTimeAsync(1); // the Stately inspector hands events on from a timeout
  return trace;
}

/**
 * Two tabs of one origin (in memory): the second restores the session from the first; when both are due, the
 * first holds the lock, refreshes and hands its answer off through the store, which answers the second; the next
 * refresh fails and the failure is written for the second. Returns every token that went by.
 */
async function driveTwoTabs(inspect: InspectObserver): Promise<string[]> {
  const origin = createMemoryOrigin();
  const broadcast = () => ({ channel: 'inspected', environment: origin.tab() });
  const first = createHarness({ inspect, retry: { jitter: false }, broadcast: broadcast() });
  await vi.advanceTimersByTimeAsync(RESTORE_WAIT_MS); // no other tab to restore from
  const signedIn = first.signIn({ refreshToken: secret('tab-first') });
  const secondRefresh = vi.fn(() => new Promise<never>(() => {}));
  const second = createSessionEngine({ refresh: secondRefresh, inspect, retry: { jitter: false }, broadcast: broadcast() });
  await vi.advanceTimersByTimeAsync(RESTORE_WAIT_MS);
  expect(second.peekToken()).toBe(signedIn.accessToken);
  await vi.advanceTimersByTimeAsync(45_000);
  const refreshed = first.lastCall().respond({ refreshToken: secret('tab-second') });
  await flush();
  expect(second.peekToken()).toBe(refreshed.accessToken);
  await vi.advanceTimersByTimeAsync(45_000);
  first.lastCall().fail(new NetworkError());
  await flush();
  expect(second.getSnapshot().status).toBe('offline');
  expect(secondRefresh).not.toHaveBeenCalled(); // every answer and failure came through the store
  first.engine.stop();
  second.stop();
  await vi.advanceTimersByTimeAsync(1); // the Stately inspector hands events on from a timeout
  return [signedIn.accessToken, signedIn.refreshToken!, refreshed.accessToken, refreshed.refreshToken!];
}

/** A window as the Stately browser inspector uses it: `open` gives the inspector window it posts to. */
function fakeInspectorWindow() {
  const posted: unknown[] = [];
  const opened: string[] = [];
  const listeners: ((event: { data: unknown }) => void)[] = [];
  const window = {
    open: (url: string) => {
      opened.push(url);
      return { postMessage: (message: unknown) => posted.push(message) };
    },
    addEventListener: (_type: string, listener: (event: { data: unknown }) => void) => listeners.push(listener),
  };
  const connect = () => listeners.forEach((listener) => listener({ data: { type: '@statelyai.connected' } }));
  return { window: window as unknown as Window, posted, opened, connect };
}

interface InspectedRun {
  inspect: InspectObserver;
  texts(): string[];
}

const inspectionPaths: Record<string, (redact: boolean) => InspectedRun> = {
  'any observer (redactInspection)': (redact) => {
    const events: InspectionEvent[] = [];
    const collect = (event: InspectionEvent) => events.push(event);
    const texts = () => [
      ...events.map(safeJson),
      // Inspectors read an actor's snapshot from its reference too (Stately does, for `@xstate.actor`).
      ...[...new Set(events.map((event) => event.actorRef))].map((actor) =>
        safeJson({ type: 'actor snapshot', snapshot: actor.getSnapshot() }),
      ),
    ];
    return { inspect: redact ? redactInspection(collect) : collect, texts };
  },
  'the Stately browser inspector (createSessionInspector)': (redact) => {
    const { window, posted, connect } = fakeInspectorWindow();
    const inspector = createSessionInspector({ kind: 'browser', window, redact });
    connect();
    return { inspect: inspector.inspect, texts: () => posted.map((message) => JSON.stringify(message)) };
  },
};

describe.each(Object.entries(inspectionPaths))('inspection through %s', (_name, inspectWith) => {
  it('never carries a token of the session, only descriptions of them', async () => {
    const run = inspectWith(true);
    const trace = await driveFullSession(createHarness({ inspect: run.inspect, retry: { jitter: false } }));
    const texts = run.texts();

    const visited = statesIn(texts);
    const sessionStates = ['signedOut', 'fresh', 'stale', 'refreshing', 'offline.waiting', 'offline.backingOff.open'];
    sessionStates.push('offline.backingOff.firm', 'rotated.awaitingRequest', 'rotated.fetching', 'rotated.backingOff.open');
    for (const state of [...sessionStates, 'idle']) expect(visited).toContain(state);
    // The request child's snapshots while a single tab's request is out, the request and its answer in them.
    expect([...visited].filter((state) => state.startsWith('alone.'))).not.toEqual([]);
    const eventTypes = eventTypesIn(texts);
    for (const type of ['request.send', 'request.done', 'request.failed']) expect(eventTypes).toContain(type);

    expect(leaksIn(texts, allTokens(trace))).toEqual([]);
    const descriptions = texts.flatMap((text) => descriptionsIn(JSON.parse(text)));
    for (const { token, sessionKey, expiresAt } of trace.access) {
      expect(descriptions).toContainEqual(described(token, sessionKey, expiresAt));
    }
    for (const { token, sessionKey } of trace.refresh) {
      expect(descriptions).toContainEqual(
        expect.objectContaining({ redacted: 'token', sessionKey, fingerprint: tokenFingerprint(token) }),
      );
    }
  });

  it('never carries a token through the tab protocol: the lock, the store, the hand-off, a shared failure', async () => {
    const run = inspectWith(true);
    const tokens = await driveTwoTabs(run.inspect);
    const texts = run.texts();
    const visited = statesIn(texts);
    for (const state of ['readingStore', 'sending'].map((step) => `underLock.awaitingAnswer.${step}`)) expect(visited).toContain(state);
    for (const state of ['underLock.handingOff', 'underLock.writingFailure']) expect(visited).toContain(state);
    for (const type of ['announce.token', 'tab.token', 'lock.granted']) expect(eventTypesIn(texts)).toContain(type);
    expect(leaksIn(texts, tokens)).toEqual([]);
  });

  it('carries the tokens of the tabs with redact: false (so the check above can fail)', async () => {
    const run = inspectWith(false);
    const tokens = await driveTwoTabs(run.inspect);
    const all = run.texts().join('\n');
    for (const token of tokens) expect(all).toContain(token);
  });

  it('carries the tokens themselves with redact: false (so the check above can fail)', async () => {
    const run = inspectWith(false);
    const trace = await driveFullSession(createHarness({ inspect: run.inspect, retry: { jitter: false } }));
    const all = run.texts().join('\n');
    for (const token of allTokens(trace)) expect(all).toContain(token);
  });
});

describe('redactSecrets', () => {
  const jwt = signJwt({ sub: 'user-1', sid: 's9', exp: 2_000_000_000 });

  it('copies: the value passed in keeps its tokens', () => {
    const context = {
      session: { sessionKey: 's9', userId: 'user-1', startedAt: 1 },
      token: { accessToken: 'opaque-access-token', expiresAt: 5_000, sessionKey: 's9' },
      refreshToken: 'opaque-refresh-token',
    };
    const before = structuredClone(context);
    expect(redactSecrets(context)).toEqual({
      session: context.session,
      token: {
        accessToken: described('opaque-access-token', 's9', 5_000),
        expiresAt: 5_000,
        sessionKey: 's9',
      },
      refreshToken: described('opaque-refresh-token', 's9', null),
    });
    expect(context).toEqual(before);
  });

  it('replaces JWT-shaped strings under any name and inside text', () => {
    const redacted = redactSecrets({ idToken: jwt, note: `Bearer ${jwt} was sent` }) as Record<string, unknown>;
    expect(redacted.idToken).toEqual(described(jwt, null, null));
    expect(redacted.note).toBe(`Bearer [redacted token ${tokenFingerprint(jwt)}] was sent`);
  });

  it('keeps errors typed and redacts their message and cause', () => {
    const error = new NetworkError(`refused ${jwt}`, { cause: { refreshToken: 'opaque-refresh-token' } });
    const copy = redactSecrets(error) as NetworkError;
    expect(copy).toBeInstanceOf(NetworkError);
    expect(copy.code).toBe('network');
    expect(copy.message).not.toContain(jwt);
    expect(copy.cause).toEqual({ refreshToken: expect.objectContaining({ redacted: 'token' }) });
    expect(error.message).toContain(jwt);
  });

  it('follows cycles and redacts extra secret fields when asked', () => {
    const cyclic: Record<string, unknown> = { apiKey: 'key-1' };
    cyclic.self = cyclic;
    const plain = redactSecrets(cyclic) as Record<string, unknown>;
    expect(plain.self).toBe(plain);
    expect(plain.apiKey).toBe('key-1');
    const withField = redactSecrets(cyclic, { secretFields: ['apiKey'] }) as Record<string, unknown>;
    expect(withField.apiKey).toMatchObject({ redacted: 'token', fingerprint: tokenFingerprint('key-1') });
  });

  it('fingerprints with 32-bit FNV-1a', () => {
    expect(['', 'a', 'foobar'].map(tokenFingerprint)).toEqual(['811c9dc5', 'e40c292c', 'bf9cf968']);
  });
});

describe('createSessionInspector', () => {
  it('the browser kind is inert where there is no window, and the engine runs with it', () => {
    const inspector = createSessionInspector({ kind: 'browser' });
    const engine = createSessionEngine({ refresh: () => new Promise(() => {}), inspect: inspector.inspect });
    engine.signIn({ accessToken: 'opaque-access-token', expiresIn: 60 });
    expect(engine.getSnapshot().status).toBe('fresh');
    engine.stop();
    expect(typeof inspector.inspect.next).toBe('function');
  });

  it('with autoStart: false opens the inspector only on start()', () => {
    const { window, opened } = fakeInspectorWindow();
    const url = 'http://127.0.0.1:1/inspect';
    const inspector = createSessionInspector({ kind: 'browser', window, url, autoStart: false });
    expect(opened).toEqual([]);
    inspector.start();
    expect(opened).toEqual([url]);
  });
});
