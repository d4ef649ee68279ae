import { NEVER } from 'rxjs';
import { createActor, fromCallback, fromEventObservable, fromPromise, type SnapshotFrom } from 'xstate';
import { sessionMachine } from '../../machines/sessionMachine.js';
import type {
  HeldToken,
  RefreshInput,
  RetryTimerInput,
  SessionConfig,
  SessionEvent,
  SessionInfo,
  SessionToken,
  TabAnnouncement,
} from '../../machines/types.js';
import { AuthError, NetworkError } from '../../src/errors.js';

/**
 * The bare statechart with every effect replaced by a recorder: a test sends events with explicit times and
 * reads the state, the context, what each invoked actor was started with and what the other tabs were told.
 * No engine, no clock: each `now` is the test's.
 */

export const CONFIG: SessionConfig = {
  refreshThresholdMs: 15_000,
  leewayMs: 5_000,
  retry: { baseMs: 1_000, maxMs: 30_000, factor: 2, jitter: false },
  callersCutBackoff: true,
  shareTabs: false,
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

export const sessionOf = (sessionKey: string, startedAt: number): SessionInfo => ({ sessionKey, userId: 'u1', startedAt });

export interface RefreshCall {
  readonly input: RefreshInput;
  readonly signal: AbortSignal;
  resolve(token: HeldToken): void;
  reject(error: unknown): void;
}

/** A settled promise's callbacks, XState's done/error events and the assigns after them: a few microtasks. */
export const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export function startMachine({
  shareTabs = false,
  online,
  callersCutBackoff = true,
}: { shareTabs?: boolean; online?: boolean; callersCutBackoff?: boolean } = {}) {
  const refreshes: RefreshCall[] = [];
  const refreshTimers: number[] = [];
  const retryTimers: RetryTimerInput[] = [];
  const told: TabAnnouncement[] = [];
  const turns: Array<() => void> = [];
  const restores: Array<() => void> = [];

  const machine = sessionMachine.provide({
    actors: {
      refreshToken: fromPromise<HeldToken, RefreshInput>(
        ({ input, signal }) =>
          new Promise((resolve, reject) => refreshes.push({ input, signal, resolve, reject })),
      ),
      waitForRefresh: fromEventObservable<SessionEvent, { at: number }>(({ input }) => {
        refreshTimers.push(input.at);
        return NEVER;
      }),
      waitForRetry: fromEventObservable<SessionEvent, RetryTimerInput>(({ input }) => {
        retryTimers.push(input);
        return NEVER;
      }),
      // Held until the test lets it go, so `stale` can be seen handling events.
      awaitRefreshTurn: fromPromise<void>(() => new Promise<void>((resolve) => turns.push(resolve))),
      awaitOtherTabs: fromPromise<void>(() => new Promise<void>((resolve) => restores.push(resolve))),
      syncTabs: fromCallback<TabAnnouncement>(({ receive }) => receive((announcement) => told.push(announcement))),
    },
  });
  const actor = createActor(machine, { input: { config: { ...CONFIG, shareTabs, callersCutBackoff }, online } }).start();
  const snapshot = (): SnapshotFrom<typeof sessionMachine> => actor.getSnapshot();

  return {
    actor,
    snapshot,
    context: () => snapshot().context,
    value: () => snapshot().value,
    send: (event: SessionEvent) => actor.send(event),
    refreshes,
    refreshTimers,
    retryTimers,
    told,
    lastRefresh(): RefreshCall {
      const call = refreshes.at(-1);
      if (!call) throw new Error('no refresh was started');
      return call;
    },
    /** Lets `stale` start its refresh. */
    grantTurn: async () => {
      turns.shift()?.();
      await settle();
    },
    /** Ends `restoring` as if no tab answered. */
    endRestore: async () => {
      restores.shift()?.();
      await settle();
    },
    signIn(now: number, overrides: Partial<SessionToken> = {}) {
      actor.send({ type: 'user.signIn', token: token(now, overrides), now });
    },
    /** Resolves the last refresh with a token issued at `now`. */
    async answer(now: number, overrides: Partial<SessionToken> = {}) {
      const t = token(now, overrides);
      this.lastRefresh().resolve(t);
      await settle();
      return t;
    },
    async fail(error: unknown = new NetworkError()) {
      this.lastRefresh().reject(error);
      await settle();
    },
    async refuse() {
      await this.fail(new AuthError());
    },
    stop: () => actor.stop(),
  };
}

export type MachineHarness = ReturnType<typeof startMachine>;
