import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createInspectorServer } from '@statelyai/inspect/server';
import { createSessionEngine, type SessionEngine } from 'sessionchart';
import { createSessionInspector, tokenFingerprint, type SessionInspector } from 'sessionchart/inspect';
import type { TokenSet } from 'sessionchart';
import { descriptionsIn } from './support/inspection.js';
import { createTokenServer } from 'sessionchart/testing';

const tokens = createTokenServer();

/** The slice of `ws` (the inspector server's own WebSocket library, untyped here) that the receiver uses. */
interface Socket {
  on(event: 'open' | 'close', listener: () => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  on(event: 'message', listener: (data: { toString(): string }) => void): void;
  close(): void;
}
const { WebSocket } = createRequire(import.meta.url)('ws') as { WebSocket: new (url: string) => Socket };

interface StatelyEvent {
  type: string;
  name?: string;
  parentId?: string;
  sessionId?: string;
  event?: { type: string; token?: { accessToken?: unknown } };
  snapshot?: { value?: unknown };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A client of the inspector server, as the inspector page is: it gets every event the app sends. */
async function connectReceiver(url: string): Promise<{ messages: string[] }> {
  const messages: string[] = [];
  for (let attempt = 1; ; attempt += 1) {
    const socket = new WebSocket(url);
    const opened = await new Promise<boolean>((resolve) => {
      socket.on('open', () => resolve(true));
      socket.on('error', () => resolve(false));
    });
    if (opened) {
      socket.on('message', (data) => messages.push(data.toString()));
      cleanups.push(() => socket.close());
      return { messages };
    }
    if (attempt === 50) throw new Error(`the inspector server at ${url} never accepted a connection`);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the server is still binding its port
  }
}

interface InspectedSession {
  messages: string[];
  first: TokenSet;
  refreshed: TokenSet;
}

/** An engine inspected through the package's inspector server on loopback: sign in, then one forced refresh. */
async function inspectSessionOverWebSocket(redact: boolean): Promise<InspectedSession> {
  const port = await freeLoopbackPort();
  const server = createInspectorServer({ port, autoOpen: false });
  cleanups.push(() => server.stop());
  const url = `ws://127.0.0.1:${port}`;
  const receiver = await connectReceiver(url);

  const inspector: SessionInspector = createSessionInspector({ kind: 'websocket', url, redact });
  cleanups.push(() => inspector.stop());
  const refreshed = tokens.signIn({ sid: 's1', refreshToken: `rt-second-${crypto.randomUUID()}` });
  const engine: SessionEngine = createSessionEngine({ refresh: async () => refreshed, inspect: inspector.inspect });
  cleanups.push(() => engine.stop());

  const first = tokens.signIn({ sid: 's1', refreshToken: `rt-first-${crypto.randomUUID()}` });
  engine.signIn(first);
  expect(await engine.getToken({ forceRefresh: true })).toBe(refreshed.accessToken);
  await vi.waitFor(() => expect(receiver.messages.join('\n')).toContain('request.done'));
  return { messages: receiver.messages, first, refreshed };
}

describe('the WebSocket inspector through the inspector server', () => {
  it('delivers the running engine’s events with every token redacted', async () => {
    const { messages, first, refreshed } = await inspectSessionOverWebSocket(true);
    const all = messages.join('\n');
    for (const token of [first.accessToken, first.refreshToken!, refreshed.accessToken, refreshed.refreshToken!]) {
      expect(all).not.toContain(token);
      expect(all).toContain(tokenFingerprint(token));
    }

    const events = messages.map((message) => JSON.parse(message) as StatelyEvent);
    const states = events.filter((e) => e.type === '@xstate.snapshot').map((e) => e.snapshot?.value);
    expect(states).toEqual(expect.arrayContaining(['fresh', 'refreshing']));
    // The request child reports the answer to the session machine with the new tokens.
    const done = events.find((e) => e.type === '@xstate.event' && e.event?.type === 'request.done');
    expect(done?.event?.token?.accessToken).toMatchObject({
      redacted: 'token',
      sessionKey: 's1',
      fingerprint: tokenFingerprint(refreshed.accessToken),
    });
    // Stately reads a new actor's snapshot later, from its reference: the refresh the request child starts shows
    // its input (the refresh token sent) or, once done, its output (the new tokens) redacted there too.
    const requestChild = events.find((e) => e.type === '@xstate.actor' && e.name === 'request');
    const startedByChild = events.filter((e) => e.type === '@xstate.actor' && e.parentId === requestChild?.sessionId);
    const refreshFingerprints = [first.refreshToken!, refreshed.accessToken, refreshed.refreshToken!].map(tokenFingerprint);
    expect(startedByChild.flatMap((e) => descriptionsIn(e.snapshot))).toContainEqual(
      expect.objectContaining({ sessionKey: 's1', fingerprint: expect.toBeOneOf(refreshFingerprints) }),
    );
  });

  it('delivers the tokens themselves with redact: false (so the check above can fail)', async () => {
    const { messages, first, refreshed } = await inspectSessionOverWebSocket(false);
    const all = messages.join('\n');
    for (const token of [first.accessToken, first.refreshToken!, refreshed.accessToken]) expect(all).toContain(token);
  });
});
