import { isDeepStrictEqual } from 'node:util';
import { vi } from 'vitest';
import { AuthError, NetworkError } from '../../src/errors.js';
import { InvariantHarness, flushMicrotasks, type RefreshAnswer } from './invariantHarness.js';
import type { ModelPath } from './modelPaths.js';
import { describeCommand } from './modelCommands.js';
import {
  MODEL_CLOCK_BACK_MS,
  MODEL_T0,
  initialModel,
  isFetching,
  stepModel,
  type ModelCommand,
  type ModelState,
} from './sessionModel.js';

/**
 * Replays a model path on a real engine: each command becomes engine calls, environment changes, a refresh
 * answer or clock movement; after each, the engine must be where the model is and keep the invariants.
 */

const FAKED = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] as const;

export async function replay(path: ModelPath): Promise<string[]> {
  vi.useFakeTimers({ toFake: [...FAKED] });
  vi.setSystemTime(MODEL_T0);
  const { retry, refreshThresholdMs, leewayMs, callersCutBackoff, refreshTimeoutMs, keepsSession } = path.config;
  const storage = keepsSession ? mapStorage() : undefined;
  const harness = new InvariantHarness({
    engine: { retry: { ...retry, callersCutBackoff }, refreshThresholdMs, leewayMs, refreshTimeoutMs, storage },
  });
  const problems: string[] = [];
  let model = initialModel(path.config);
  try {
    problems.push(...differences(model, harness, 'start'));
    for (const command of path.commands) {
      const next = stepModel(model, command);
      const label = describeCommand(command);
      harness.begin(label, allowanceOf(command));
      const pending = perform(command, model, next, harness, problems);
      if (pending) await pending;
      // In `stale` a microtask would let awaitRefreshTurn resolve, and in `restoring.reading` the storage read
      // end: the model does both as commands of their own.
      if (!next.machine.matches('stale') && !next.machine.matches({ restoring: 'reading' })) {
        await flushMicrotasks();
        harness.checkSettledWithoutWaiting();
      }
      harness.end();
      problems.push(...differences(next, harness, label), ...harness.violations.splice(0));
      model = next;
      if (problems.length > 0) break;
    }
  } finally {
    harness.stop();
    vi.useRealTimers();
  }
  return problems;
}

function allowanceOf(command: ModelCommand): { signOut?: boolean; identity?: boolean } {
  switch (command.type) {
    case 'signIn':
    case 'signInRefreshToken':
    case 'reload':
    case 'storageRead':
    case 'restore':
      return { identity: true };
    case 'signOut':
      return { signOut: true };
    case 'tabMessage':
      if (command.message === 'signOut-this' || command.message === 'cleared') return { signOut: true };
      return { identity: command.message.startsWith('token') };
    default:
      // A refresh answer's allowances come from the harness, which knows whether it ends the session.
      return {};
  }
}

/** Does what the command stands for; returns a promise when the engine needs more than the current tick. */
function perform(
  command: ModelCommand,
  model: ModelState,
  next: ModelState,
  harness: InvariantHarness,
  problems: string[],
): Promise<unknown> | void {
  const { effect } = next;
  switch (command.type) {
    case 'signIn': {
      if (effect.kind !== 'token') throw new Error('a sign-in without its token');
      const { sessionKey, expiresAt, issuedAt } = effect.token;
      harness.signIn({ sessionKey, lifeS: (expiresAt - issuedAt) / 1000 });
      return;
    }
    case 'signOut':
      return harness.signOut();
    case 'rotate':
      return harness.rotate();
    case 'getToken':
      harness.getToken();
      return;
    case 'forceRefresh':
      harness.getToken(true);
      return;
    case 'read':
      harness.checkSnapshot();
      return;
    case 'sleep':
      return harness.sleep(next.now - model.now);
    case 'clockBack':
      return harness.setClockBack(MODEL_CLOCK_BACK_MS);
    case 'networkDown':
      return harness.online$.next(false);
    case 'networkUp':
      return harness.online$.next(true);
    case 'resume':
      return harness.resume$.next();
    case 'timerFires':
      return harness.advance(next.now - model.now);
    case 'yieldTurn':
      return flushMicrotasks();
    case 'refreshSettles': {
      const call = harness.current();
      if (!call) return void problems.push(`${describeCommand(command)}: the engine has no refresh in flight`);
      harness.settle(call, answerFor(model, next, harness));
      return flushMicrotasks();
    }
    case 'tabMessage':
      return sendTabMessage(command.message, model, next, harness);
    case 'otherTabsSilent':
      throw new Error('a sharing tab cannot be replayed without the browser APIs it needs');
    case 'storageRead':
      return flushMicrotasks();
    case 'storageUnreadable':
      throw new Error("the engine's storage reads never reject: a failing one reads as empty");
    case 'reload':
      return harness.reload();
    case 'restore':
      harness.getToken(false, true);
      return;
    case 'signInRefreshToken':
      return harness.signInRefreshToken();
  }
}

/** The answer the model chose, made real: a repeat of the held (or dropped) token is the engine's own one again. */
function answerFor(model: ModelState, next: ModelState, harness: InvariantHarness): RefreshAnswer {
  const { effect } = next;
  if (effect.kind === 'token') {
    const { accessToken, sessionKey, expiresAt, issuedAt } = effect.token;
    const lifeS = (expiresAt - issuedAt) / 1000;
    const { token, droppedToken } = model.machine.context;
    if (accessToken === (token ?? droppedToken)?.accessToken) {
      const { context } = harness.engine.actor.getSnapshot();
      const repeated = (context.token ?? context.droppedToken)!.accessToken;
      // A token another tab's message brought was never a set of ours: the same string, as an opaque answer.
      const set = harness.setOf(repeated) ?? { accessToken: repeated, expiresIn: lifeS };
      return { kind: 'token', set, lifeMs: lifeS * 1000, sessionKey };
    }
    return { kind: 'token', ...harness.mint({ sessionKey, lifeS }) };
  }
  if (effect.kind !== 'error') throw new Error('a refresh answer without its outcome');
  if (effect.code === 'network') {
    return { kind: 'error', error: new NetworkError(undefined, { retryAfterMs: effect.retryAfterMs }), auth: false };
  }
  if (effect.code === 'auth') return { kind: 'error', error: new AuthError(), auth: true };
  // An opaque token with no expiry: the engine refuses it as InvalidTokenError.
  return { kind: 'garbage', value: { accessToken: 'not-a-jwt' } };
}

/** What the `syncTabs` actor would relay from another tab, with the liveness it implies for invariant 2. */
function sendTabMessage(message: string, model: ModelState, next: ModelState, harness: InvariantHarness): void {
  if (next.effect.kind !== 'tabEvent') throw new Error('a tab message without its event');
  const { event } = next.effect;
  if (message === 'signOut-this' || message === 'rotate-this' || message === 'cleared') harness.kill();
  if (event.type === 'tab.token') {
    const { accessToken, expiresAt, sessionKey } = event.token;
    const adoptedOther =
      next.machine.context.session === event.session &&
      model.machine.context.session?.sessionKey !== event.session.sessionKey;
    if (adoptedOther) harness.kill();
    const held = harness.bornOf(harness.engine.actor.getSnapshot().context.token?.accessToken);
    // An older token of this session was issued before the rotation (or before the token held now).
    const born =
      message !== 'token-older'
        ? harness.birth()
        : model.machine.matches('rotated')
          ? harness.killedAt - 0.5
          : (held ?? harness.birth()) - 0.5;
    harness.register(accessToken, { expiresAt, sessionKey, born });
  }
  harness.engine.actor.send(event);
}

/** A Map-backed storage, synchronous as localStorage is. */
function mapStorage() {
  const items = new Map<string, string>();
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}

/** Where the engine and the model disagree, as readable lines. */
function differences(model: ModelState, harness: InvariantHarness, label: string): string[] {
  const actual = harness.engine.actor.getSnapshot();
  const expected = model.machine;
  const found: string[] = [];
  const compare = (what: string, a: unknown, e: unknown) => {
    if (!isDeepStrictEqual(a, e))
      found.push(`after ${label}: ${what} is ${JSON.stringify(a)}, the model says ${JSON.stringify(e)}`);
  };
  compare('the state', actual.value, expected.value);
  compare('the clock', harness.engineNow(), model.now);
  const project = (context: typeof actual.context) => ({
    online: context.online,
    sessionKey: context.session?.sessionKey ?? null,
    token: context.token && { issuedAt: context.token.issuedAt, expiresAt: context.token.expiresAt },
    attempt: context.attempt,
    error: context.error?.code ?? null,
  });
  compare('the context', project(actual.context), project(expected.context));
  const call = harness.current();
  compare('a refresh in flight', call !== undefined, isFetching(expected));
  if (call && model.request) compare('the refresh reason', call.ctx.reason, model.request.request.reason);
  return found;
}
