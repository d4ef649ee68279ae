import { isDeepStrictEqual } from 'node:util';
import { vi } from 'vitest';
import { lifeMs } from '../../machines/tokenMath.js';
import { AuthError, NetworkError } from '../../src/errors.js';
import { createMemoryStorage, flushPromises, type TokenRequest } from '../../src/testing/index.js';
import { EngineWorld } from './invariantHarness.js';
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
 * answer or clock movement; after each, the engine must be where the model is and keep the invariants (the
 * token server and invariant checker of sessionchart/testing, through EngineWorld).
 */

const FAKED = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] as const;

export async function replay(path: ModelPath): Promise<string[]> {
  vi.useFakeTimers({ toFake: [...FAKED] });
  vi.setSystemTime(MODEL_T0);
  const { retry, refreshThresholdMs, leewayMs, callersCutBackoff, refreshTimeoutMs, keepsSession } = path.config;
  const storage = keepsSession ? createMemoryStorage() : undefined;
  const world = new EngineWorld({
    engine: { retry: { ...retry, callersCutBackoff }, refreshThresholdMs, leewayMs, refreshTimeoutMs, storage },
  });
  const problems: string[] = [];
  let model = initialModel(path.config);
  try {
    problems.push(...differences(model, world, 'start'));
    for (const command of path.commands) {
      const next = stepModel(model, command);
      const label = describeCommand(command);
      const pending = perform(command, model, next, world, problems);
      if (pending) await pending;
      // In `stale` a microtask would let awaitRefreshTurn resolve, and in `restoring.reading` the storage read
      // end: the model does both as commands of their own.
      const flushed = !next.machine.matches('stale') && !next.machine.matches({ restoring: 'reading' });
      if (flushed) await flushPromises();
      problems.push(...differences(next, world, label), ...world.endStep(flushed).map((line) => `${line} [after ${label}]`));
      model = next;
      if (problems.length > 0) break;
    }
  } finally {
    world.stop();
    vi.useRealTimers();
  }
  return problems;
}

/** Does what the command stands for; returns a promise when the engine needs more than the current tick. */
function perform(
  command: ModelCommand,
  model: ModelState,
  next: ModelState,
  world: EngineWorld,
  problems: string[],
): Promise<unknown> | void {
  const { effect } = next;
  const { engine } = world;
  switch (command.type) {
    case 'signIn': {
      if (effect.kind !== 'token') throw new Error('a sign-in without its token');
      return engine.signIn(world.signIn({ sid: effect.token.sessionKey, lifeSeconds: lifeMs(effect.token) / 1000 }));
    }
    case 'signOut':
      return engine.signOut();
    case 'rotate':
      return engine.rotate();
    case 'getToken':
      return world.getToken();
    case 'forceRefresh':
      return world.getToken(true);
    case 'read':
      return world.checkSnapshot();
    case 'sleep':
      return world.sleep(next.now - model.now);
    case 'clockBack':
      return world.setClockBack(MODEL_CLOCK_BACK_MS);
    case 'networkDown':
      return world.online$.next(false);
    case 'networkUp':
      return world.online$.next(true);
    case 'resume':
      return world.resume$.next();
    case 'timerFires':
      return world.advance(next.now - model.now);
    case 'yieldTurn':
      return flushPromises();
    case 'refreshSettles': {
      const request = world.current();
      if (!request) return void problems.push(`${describeCommand(command)}: the engine has no refresh in flight`);
      answer(request, model, next, world);
      return flushPromises();
    }
    case 'tabMessage':
      return sendTabMessage(command.message, next, world);
    case 'otherTabsSilent':
      throw new Error('a sharing tab cannot be replayed without the browser APIs it needs');
    case 'storageRead':
      return flushPromises();
    case 'storageUnreadable':
      throw new Error("the engine's storage reads never reject: a failing one reads as empty");
    case 'reload':
      return world.reload();
    case 'restore':
      return world.getToken(false, true);
    case 'signInRefreshToken':
      return engine.signIn({ refreshToken: world.signIn({}).refreshToken! });
  }
}

/** The answer the model chose, made real: a repeat of the held (or dropped) token is the engine's own one again. */
function answer(request: TokenRequest, model: ModelState, next: ModelState, world: EngineWorld): void {
  const { effect } = next;
  if (effect.kind === 'token') {
    const { accessToken, sessionKey } = effect.token;
    const lifeSeconds = lifeMs(effect.token) / 1000;
    const { token, droppedToken } = model.machine.context;
    if (accessToken === (token ?? droppedToken)?.accessToken) {
      const { context } = world.engine.actor.getSnapshot();
      const repeated = (context.token ?? context.droppedToken)!.accessToken;
      // A token another tab's message brought was never a set of ours: the same string, as an opaque answer.
      return request.resolve(world.setOf(repeated) ?? { accessToken: repeated, expiresIn: lifeSeconds });
    }
    return world.respond(request, { sid: sessionKey, lifeSeconds });
  }
  if (effect.kind !== 'error') throw new Error('a refresh answer without its outcome');
  if (effect.code === 'network') return request.fail(new NetworkError(undefined, { retryAfterMs: effect.retryAfterMs }));
  if (effect.code === 'auth') return request.fail(new AuthError());
  // An opaque token with no expiry: the engine refuses it as InvalidTokenError.
  request.resolve({ accessToken: 'not-a-jwt' });
}

/**
 * What the `syncTabs` actor would relay from another tab, told to the checker as the other tab's doing. A token
 * is minted by the server now (an opaque one, with the model's expiry): an older one of a rotated-away session is
 * then live to the checker, and its adoption shows as a difference from the model instead.
 */
function sendTabMessage(message: string, next: ModelState, world: EngineWorld): void {
  if (next.effect.kind !== 'tabEvent') throw new Error('a tab message without its event');
  const { event } = next.effect;
  if (message === 'signOut-this' || message === 'cleared') world.checker.sessionEndedElsewhere('signOut');
  if (message === 'rotate-this') world.checker.sessionEndedElsewhere('rotate');
  if (event.type !== 'tab.token') return world.engine.actor.send(event);
  const { expiresAt, sessionKey } = event.token;
  const localExpiry = expiresAt - world.engineNow() + Date.now();
  const { accessToken } = world.signIn({ sid: sessionKey, opaque: true, expiresAt: localExpiry });
  world.checker.sessionStartedElsewhere(event.session.sessionKey);
  world.engine.actor.send({ ...event, token: { ...event.token, accessToken } });
}

/** Where the engine and the model disagree, as readable lines. */
function differences(model: ModelState, world: EngineWorld, label: string): string[] {
  const actual = world.engine.actor.getSnapshot();
  const expected = model.machine;
  const found: string[] = [];
  const compare = (what: string, a: unknown, e: unknown) => {
    if (!isDeepStrictEqual(a, e))
      found.push(`after ${label}: ${what} is ${JSON.stringify(a)}, the model says ${JSON.stringify(e)}`);
  };
  compare('the state', actual.value, expected.value);
  compare('the clock', world.engineNow(), model.now);
  const project = (context: typeof actual.context) => ({
    online: context.online,
    sessionKey: context.session?.sessionKey ?? null,
    token: context.token && { issuedAt: context.token.issuedAt, expiresAt: context.token.expiresAt },
    attempt: context.attempt,
    error: context.error?.code ?? null,
  });
  compare('the context', project(actual.context), project(expected.context));
  const request = world.current();
  compare('a refresh in flight', request !== undefined, isFetching(expected));
  if (request && model.request) compare('the refresh reason', request.ctx?.reason, model.request.request.reason);
  return found;
}
