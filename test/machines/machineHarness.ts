import { NEVER } from 'rxjs';
import { createActor, fromCallback, fromEventObservable, fromPromise, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import { AuthError, NetworkError } from '../../machines/errors.js';
import { requestMachine } from '../../machines/requestMachine.js';
import { sessionMachine } from '../../machines/sessionMachine.js';
import { recordingRequestMachine, nextTurn, type RecordedRefresh } from './requestHarness.js';
import type {
  RefreshTimerInput,
  RetryTimerInput,
  SessionConfig,
  SessionEvent,
  SessionInfo,
  SessionToken,
  TabAnnouncement,
  VaultCommand,
} from '../../machines/types.js';

/**
 * The bare statechart with every effect replaced by a recorder: a test sends events with explicit times and
 * reads the state, the context, what each invoked actor was started with and what the other tabs were told.
 * No engine, no clock: each `now` is the test's.
 */

export const CONFIG: SessionConfig = {
  refreshThresholdMs: 15_000,
  leewayMs: 5_000,
  retry: { baseMs: 1_000, maxMs: 30_000, factor: 2, jitter: false },
  callersCutBackoff: false,
  refreshTimeoutMs: 30_000,
  shareTabs: false,
  keepsSession: false,
};

/** A 60 s token of session `s1` issued at `issuedAt`: fresh until +45 s, servable until +55 s. */
export function token(issuedAt: number, overrides: Partial<SessionToken> = {}): SessionToken {
  return {
    accessToken: `a-${issuedAt}`,
    refreshToken: `r-${issuedAt}`,
    issuedAt,
    expiresAt: issuedAt + 60_000,
    serverOffsetMs: null,
    sessionKey: 's1',
    userId: 'u1',
    ...overrides,
  };
}

export { nextTurn };

export const sessionOf = (sessionKey: string, startedAt: number): SessionInfo => ({ sessionKey, userId: 'u1', startedAt });

/** The state of a session machine's request child: `idle`, `alone`, or a state `underLock`. */
export const requestStateOf = (snapshot: SnapshotFrom<typeof sessionMachine>) =>
  (snapshot.children.request as ActorRefFrom<typeof requestMachine> | undefined)?.getSnapshot().value;

export function startMachine({
  shareTabs = false,
  online,
  callersCutBackoff = false,
}: { shareTabs?: boolean; online?: boolean; callersCutBackoff?: boolean } = {}) {
  const request = recordingRequestMachine();
  const refreshTimers: RefreshTimerInput[] = [];
  const retryTimers: RetryTimerInput[] = [];
  const told: TabAnnouncement[] = [];
  const vault: VaultCommand[] = [];
  const turns: Array<(now?: number) => void> = [];
  const restores: Array<() => void> = [];

  const machine = sessionMachine.provide({
    actors: {
      request: request.machine,
      waitForRefresh: fromEventObservable<SessionEvent, RefreshTimerInput>(({ input }) => {
        refreshTimers.push(input);
        return NEVER;
      }),
      waitForRetry: fromEventObservable<SessionEvent, RetryTimerInput>(({ input }) => {
        retryTimers.push(input);
        return NEVER;
      }),
      // Held until the test lets it go, so `stale` can be seen handling events.
      awaitRefreshTurn: fromPromise<number, { now: number }>(
        ({ input }) => new Promise<number>((resolve) => turns.push((now = input.now) => resolve(now))),
      ),
      awaitOtherTabs: fromPromise<void>(() => new Promise<void>((resolve) => restores.push(resolve))),
      syncTabs: fromCallback<TabAnnouncement>(({ receive }) => receive((announcement) => told.push(announcement))),
      keepSession: fromCallback<VaultCommand>(({ receive }) => receive((command) => vault.push(command))),
    },
  });
  const config = { ...CONFIG, shareTabs, keepsSession: shareTabs, callersCutBackoff };
  const actor = createActor(machine, { input: { config, online } }).start();
  const snapshot = (): SnapshotFrom<typeof sessionMachine> => actor.getSnapshot();
  const { refreshes, timeouts: requestTimeouts, lastRefresh, locks, reads, tokenWrites, failureWrites } = request;

  /**
   * Settles the last refresh and lets the child's report reach the machine. The child keeps an answer (and,
   * under the lock, records a failure) before it reports it: those writes go through.
   */
  const settleLast = async (outcome: (call: RecordedRefresh) => void) => {
    const written = tokenWrites.length + failureWrites.length;
    outcome(lastRefresh());
    await nextTurn();
    for (const write of [...tokenWrites, ...failureWrites].slice(written)) write.resolve();
    await nextTurn();
  };

  /**
   * Fails the last refresh as the runtime does, resolving the failure with the time it came; without `failedAt`,
   * by rejecting (an actor that rejects fails as of when its request was sent).
   */
  const fail = (error: unknown = new NetworkError(), failedAt?: number) =>
    settleLast((call) => (failedAt === undefined ? call.reject(error) : call.resolve({ error, receivedAt: failedAt })));

  return {
    actor,
    snapshot,
    context: () => snapshot().context,
    value: () => snapshot().value,
    requestState: () => requestStateOf(snapshot()),
    send: (event: SessionEvent) => actor.send(event),
    refreshes,
    requestTimeouts,
    /** With `shareTabs`: the request child's lock requests, store reads and writes. */
    locks,
    reads,
    tokenWrites,
    failureWrites,
    refreshTimers,
    retryTimers,
    told,
    /** What the machine kept in this engine's storage (`vault.save`, `vault.clear`), in order. */
    vault,
    lastRefresh,
    /** Lets `stale` start its refresh, at `now` (by default the time `stale` was entered at). */
    grantTurn: async (now?: number) => {
      turns.shift()?.(now);
      await nextTurn();
    },
    /** Ends `restoring` as if no tab answered. */
    endRestore: async () => {
      restores.shift()?.();
      await nextTurn();
    },
    signIn(now: number, overrides: Partial<SessionToken> = {}) {
      actor.send({ type: 'user.signIn', token: token(now, overrides), now });
    },
    /**
     * Answers the last refresh with a token issued at `issuedAt` (the request's start, as the runtime counts it),
     * received at `receivedAt` (by default the same instant).
     */
    async answer(issuedAt: number, overrides: Partial<SessionToken> = {}, receivedAt = issuedAt) {
      const answered = token(issuedAt, overrides);
      await settleLast((call) => call.resolve({ token: answered, receivedAt }));
      return answered;
    },
    fail,
    refuse: (failedAt?: number) => fail(new AuthError(), failedAt),
    /** Fires the timeout of the request in flight. */
    async timeOut(now: number) {
      requestTimeouts.at(-1)?.fire(now);
      await nextTurn();
    },
    stop: () => actor.stop(),
  };
}

export type MachineHarness = ReturnType<typeof startMachine>;

/** A machine signed in at `sentAt` with a token issued at `issuedAt`, past its leeway: its refresh is out. */
export function startRefreshing(issuedAt: number, sentAt: number, options?: Parameters<typeof startMachine>[0]) {
  const harness = startMachine(options);
  harness.send({ type: 'user.signIn', token: token(issuedAt), now: sentAt });
  if (harness.value() !== 'refreshing') throw new Error(`not refreshing but ${JSON.stringify(harness.value())}`);
  return harness;
}
