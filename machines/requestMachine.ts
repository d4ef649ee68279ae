import { assertEvent, assign, fromEventObservable, fromPromise, sendParent, setup } from 'xstate';
import { NEVER } from 'rxjs';
import { NetworkError, toRefreshFailure } from './errors.js';
import type { RefreshAnswer, RefreshInput, RequestEvent, RequestTimerInput, SessionEvent } from './types.js';

export interface RequestContext {
  readonly timeoutMs: number;
  /** What the request in flight was sent with; its answer goes back to the session machine with it. */
  readonly request: RefreshInput | null;
  /** When it was sent: the time of a failure that carries none of its own. */
  readonly sentAt: number;
}

/**
 * The refresh request's own lifecycle, a child of the session machine that lives as long as it does. Once sent,
 * a request runs until it answers, fails, times out or is aborted by a sign-out: the session machine may change
 * state meanwhile (offline, a rotation, a sign-in), and only decides what the answer is worth when it comes. It
 * is never sent a request while one is in flight: the session machine's states see to that.
 */
export const requestMachine = setup({
  types: {
    context: {} as RequestContext,
    events: {} as RequestEvent,
    input: {} as { timeoutMs: number },
  },
  actors: {
    /** Calls the user's `refresh` with the request's AbortSignal and parses the answer. */
    refreshToken: fromPromise<RefreshAnswer, RefreshInput>(() => new Promise<never>(() => {})),
    /** Emits `timer.requestTimeout` after `input.timeoutMs`. */
    waitForTimeout: fromEventObservable<RequestEvent, RequestTimerInput>(() => NEVER),
  },
  actions: {
    keepRequest: assign(({ event }) => {
      assertEvent(event, 'request.send');
      return { request: event.request, sentAt: event.now };
    }),
    reportTimeout: sendParent(({ context, event }): SessionEvent => {
      assertEvent(event, 'timer.requestTimeout');
      return {
        type: 'request.failed',
        error: new NetworkError(`The refresh did not answer within ${context.timeoutMs} ms`),
        request: context.request!,
        now: event.now,
      };
    }),
  },
}).createMachine({
  id: 'request',
  context: ({ input }) => ({ timeoutMs: input.timeoutMs, request: null, sentAt: 0 }),
  initial: 'idle',
  states: {
    idle: {
      on: { 'request.send': { target: 'sending', actions: 'keepRequest' } },
    },
    /** The request is out: only its answer, its failure, the timeout or an abort (sign-out) ends it. */
    sending: {
      invoke: [
        {
          src: 'refreshToken',
          input: ({ context }) => context.request!,
          onDone: {
            target: 'idle',
            actions: sendParent(({ context, event }): SessionEvent => {
              const answer = event.output;
              const request = context.request!;
              return 'token' in answer
                ? { type: 'request.done', token: answer.token, request, now: answer.receivedAt }
                : {
                    type: 'request.failed',
                    error: toRefreshFailure(answer.error),
                    request,
                    now: answer.receivedAt,
                    ...(answer.refreshToken === undefined ? {} : { refreshToken: answer.refreshToken }),
                  };
            }),
          },
          onError: {
            target: 'idle',
            actions: sendParent(({ context, event }): SessionEvent => ({
              type: 'request.failed',
              error: toRefreshFailure(event.error),
              request: context.request!,
              now: context.sentAt,
            })),
          },
        },
        { src: 'waitForTimeout', input: ({ context }) => ({ timeoutMs: context.timeoutMs }) },
      ],
      on: {
        'timer.requestTimeout': { target: 'idle', actions: 'reportTimeout' },
        // Leaving `sending` stops the refresh actor, which aborts the signal the user's `refresh` was given.
        'request.abort': 'idle',
      },
    },
  },
});
