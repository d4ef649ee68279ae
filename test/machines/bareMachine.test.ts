import { afterEach, describe, expect, it } from 'vitest';
import { createActor, fromPromise, type Actor } from 'xstate';
import { NetworkError } from '../../machines/errors.js';
import { requestMachine } from '../../machines/requestMachine.js';
import { sessionMachine } from '../../machines/sessionMachine.js';
import type { RefreshAnswer, RefreshInput } from '../../machines/types.js';
import { CONFIG, requestStateOf, nextTurn, token } from './machineHarness.js';

/**
 * The machine as exported, before the runtime provides its effects (as drawn, inspected and walked by the model
 * tests): its own actors are inert placeholders that never fail, except the two waits a single tab does not need,
 * which resolve at once. Its request child's refresh never settles and its timeout never fires.
 */

const T = 1_000_000;
let actor: Actor<typeof sessionMachine>;
afterEach(() => actor.stop());

function start(shareTabs = false) {
  actor = createActor(sessionMachine, { input: { config: { ...CONFIG, shareTabs, keepsSession: shareTabs } } }).start();
  return actor;
}

describe('the bare sessionMachine', () => {
  it('restoring ends at once: nothing is kept and no other tab answers', async () => {
    start(true);
    expect(actor.getSnapshot().value).toEqual({ restoring: 'reading' });
    await nextTurn();
    expect(actor.getSnapshot().value).toBe('signedOut');
  });

  it('a stale token gets its refresh turn at once, and the refresh never settles', async () => {
    start();
    actor.send({ type: 'user.signIn', token: token(T), now: T + 45_000 });
    expect(actor.getSnapshot().value).toBe('stale');
    await nextTurn();
    expect(actor.getSnapshot().value).toBe('refreshing');
    await nextTurn();
    expect(actor.getSnapshot().value).toBe('refreshing');
    expect(requestStateOf(actor.getSnapshot())).toEqual({ alone: 'awaitingAnswer' });
    expect(actor.getSnapshot().status).toBe('active');
  });

  it('fresh has no timer and watches nothing: it stays until an event comes', async () => {
    start();
    actor.send({ type: 'user.signIn', token: token(T), now: T });
    await nextTurn();
    expect(actor.getSnapshot().value).toBe('fresh');
    expect(actor.getSnapshot().status).toBe('active');
  });

  it('a rotation fetches, and that fetch never settles either', async () => {
    start();
    actor.send({ type: 'user.signIn', token: token(T), now: T });
    actor.send({ type: 'user.rotate', now: T + 1 });
    await nextTurn();
    expect(actor.getSnapshot().value).toEqual({ rotated: 'fetching' });
    expect(actor.getSnapshot().status).toBe('active');
  });

  it('backing off has no timer: with only a failing refresh provided, it waits after the failure', async () => {
    const failing = sessionMachine.provide({
      actors: {
        request: requestMachine.provide({
          actors: { refreshToken: fromPromise<RefreshAnswer, RefreshInput>(() => Promise.reject(new NetworkError())) },
        }),
      },
    });
    actor = createActor(failing, { input: { config: CONFIG } }).start();
    actor.send({ type: 'user.signIn', token: token(T), now: T + 60_000 });
    await nextTurn();
    expect(actor.getSnapshot().value).toEqual({ offline: { backingOff: 'open' } });
    await nextTurn();
    expect(actor.getSnapshot().value).toEqual({ offline: { backingOff: 'open' } });
    expect(actor.getSnapshot().status).toBe('active');
  });
});
