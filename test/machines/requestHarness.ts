import { Subject } from 'rxjs';
import { createActor, fromCallback, fromEventObservable, fromPromise, setup, type AnyActorRef } from 'xstate';
import { requestMachine } from '../../machines/requestMachine.js';
import type {
  HeldToken,
  RefreshAnswer,
  RefreshInput,
  RequestEvent,
  RequestTimerInput,
  SessionConfig,
  SessionEvent,
  StoredFailure,
  StoredSession,
  StoreReading,
} from '../../machines/types.js';

/**
 * The request child with each of its effects replaced by a recorder: the test decides when the user's refresh
 * answers, when the timeout fires, when the origin's lock is granted, what the store holds and whether a write
 * works, and sees what each was started with. No runtime, no clock: each `now` is the test's.
 */

/** One call of the child's `refreshToken`: what it was sent with, its signal, and its outcome to pick. */
export interface RecordedRefresh {
  readonly input: RefreshInput;
  readonly signal: AbortSignal;
  resolve(answer: RefreshAnswer): void;
  reject(error: unknown): void;
}

/** One `waitForTimeout` of the request child: its input, and a way to make it fire. */
export interface RequestTimeout {
  readonly input: RequestTimerInput;
  fire(now: number): void;
  /** Whether the child still listens to it: leaving the states it bounds stops the timer. */
  armed(): boolean;
}

/** One `holdLock`: the origin's lock as this request asked for it. */
export interface LockRequest {
  /** The lock is this tab's now; `waited`: another tab held it first. */
  grant(now: number, waited: boolean): void;
  /** Whether the child has let the lock go (or stopped asking): leaving `underLock` stops `holdLock`. */
  released(): boolean;
}

/** One `readStore`, to resolve with what the last lock holder left, or to fail. */
export interface StoreRead {
  resolve(reading: StoreReading): void;
  reject(error: unknown): void;
}

/** One `writeToken` or `writeFailure`: what it was asked to write, and its outcome to pick. */
export interface StoreWrite<T> {
  readonly input: T;
  resolve(): void;
  reject(error: unknown): void;
}

/** A settled promise's callbacks, XState's done/error events, the child's report and the assigns after them. */
export const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

const lastOf = <T>(calls: readonly T[], what: string): T => {
  const call = calls.at(-1);
  if (call === undefined) throw new Error(`no ${what} was started`);
  return call;
};

function recordingWrite<T>(writes: StoreWrite<T>[]) {
  return fromPromise<void, T>(
    ({ input }) => new Promise<void>((resolve, reject) => writes.push({ input, resolve: () => resolve(), reject })),
  );
}

/** The request child with its effects recorded: every refresh, timeout, lock, read and write it starts. */
export function recordingRequestMachine() {
  const refreshes: RecordedRefresh[] = [];
  const timeouts: RequestTimeout[] = [];
  const locks: LockRequest[] = [];
  const reads: StoreRead[] = [];
  const tokenWrites: StoreWrite<StoredSession>[] = [];
  const failureWrites: StoreWrite<StoredFailure>[] = [];
  const machine = requestMachine.provide({
    actors: {
      refreshToken: fromPromise<RefreshAnswer, RefreshInput>(
        ({ input, signal }) => new Promise((resolve, reject) => refreshes.push({ input, signal, resolve, reject })),
      ),
      waitForTimeout: fromEventObservable<RequestEvent, RequestTimerInput>(({ input }) => {
        const timer = new Subject<RequestEvent>();
        timeouts.push({
          input,
          fire: (now) => timer.next({ type: 'timer.requestTimeout', now }),
          armed: () => timer.observed,
        });
        return timer;
      }),
      holdLock: fromCallback<RequestEvent>(({ sendBack }) => {
        let released = false;
        locks.push({
          grant: (now, waited) => sendBack({ type: 'lock.granted', waited, now }),
          released: () => released,
        });
        return () => {
          released = true;
        };
      }),
      readStore: fromPromise<StoreReading>(() => new Promise((resolve, reject) => reads.push({ resolve, reject }))),
      writeToken: recordingWrite(tokenWrites),
      writeFailure: recordingWrite(failureWrites),
    },
  });
  return {
    machine,
    refreshes,
    timeouts,
    locks,
    reads,
    tokenWrites,
    failureWrites,
    lastRefresh: () => lastOf(refreshes, 'refresh'),
    lastLock: () => lastOf(locks, 'lock request'),
    lastRead: () => lastOf(reads, 'store read'),
    lastTokenWrite: () => lastOf(tokenWrites, 'token write'),
    lastFailureWrite: () => lastOf(failureWrites, 'failure write'),
  };
}

/**
 * The request child on its own, under a parent that only records what the child reports (`request.done`,
 * `request.failed`), with `config` as its input.
 */
export function startRequestChild(config: SessionConfig) {
  const recorders = recordingRequestMachine();
  const reports: SessionEvent[] = [];
  const parentMachine = setup({ actors: { request: recorders.machine } }).createMachine({
    invoke: { src: 'request', id: 'request', input: { config } },
    on: { '*': { actions: ({ event }) => reports.push(event as SessionEvent) } },
  });
  const parent = createActor(parentMachine).start();
  const child = () => parent.getSnapshot().children.request as AnyActorRef;
  /** Settles the last call of an effect and lets the child's next step (and report) happen. */
  const settleLast = async (outcome: () => void) => {
    outcome();
    await nextTurn();
  };
  return {
    ...recorders,
    reports,
    state: () => child().getSnapshot().value as unknown,
    send: (event: RequestEvent) => child().send(event),
    /** The user's refresh answers `token`, received at `receivedAt`. */
    answer: (token: HeldToken, receivedAt: number) =>
      settleLast(() => recorders.lastRefresh().resolve({ token, receivedAt })),
    /** The user's refresh resolves a failure received at `receivedAt` (how the runtime reports one). */
    failWith: (error: unknown, receivedAt: number, refreshToken?: string) =>
      settleLast(() => recorders.lastRefresh().resolve({ error, receivedAt, ...(refreshToken ? { refreshToken } : {}) })),
    /** The last token write settles: written, or failed with `error`. */
    endTokenWrite: (error?: unknown) =>
      settleLast(() => (error === undefined ? recorders.lastTokenWrite().resolve() : recorders.lastTokenWrite().reject(error))),
    endFailureWrite: (error?: unknown) =>
      settleLast(() =>
        error === undefined ? recorders.lastFailureWrite().resolve() : recorders.lastFailureWrite().reject(error),
      ),
    /** The store read settles with `reading`, or fails with `error`. */
    endRead: (reading: StoreReading | Error) =>
      settleLast(() => (reading instanceof Error ? recorders.lastRead().reject(reading) : recorders.lastRead().resolve(reading))),
    stop: () => parent.stop(),
  };
}

export type RequestChild = ReturnType<typeof startRequestChild>;

/** The child's state while it holds (or waits for) the lock, as XState writes it. */
export const underLock = (state: string) =>
  ['lockAsked', 'readingStore', 'sending'].includes(state)
    ? { underLock: { awaitingAnswer: state } }
    : { underLock: state };
