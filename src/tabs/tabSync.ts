import { createStore, del, get, set, update, type UseStore } from 'idb-keyval';
import { fromCallback, fromPromise } from 'xstate';
import type { EngineClock } from '../engine/clock.js';
import { AbortError, InvalidTokenError, NetworkError, toRefreshFailure } from '../errors.js';
import { isNewer } from '../../machines/logic.js';
import { isFresh } from '../../machines/tokenMath.js';
import type { RefreshAnswer, RefreshInput, SessionConfig, SessionToken, TabAnnouncement } from '../../machines/types.js';
import type { TokenFetcher } from '../engine/actors.js';
import { afterDelay } from '../engine/timers.js';
import { isSessionToken, toTabEvent, toTabMessage } from './messages.js';

/** How long a new tab waits for the open tabs to answer before it starts signed out. */
export const RESTORE_WAIT_MS = 300;

const RECORD_KEY = 'newest';
const FAILURE_KEY = 'failure';

/** The last failed attempt of the origin: tabs that asked before it share it instead of trying again at once. */
interface FailureRecord {
  /** Local ms when it failed (tabs share one clock). */
  at: number;
  sessionKey: string | null;
  code: 'network' | 'invalid_token';
  retryAfterMs?: number;
}

const isFailureRecord = (value: unknown): value is FailureRecord =>
  typeof value === 'object' && value !== null && typeof (value as FailureRecord).at === 'number';

const failureOf = (record: FailureRecord) =>
  record.code === 'invalid_token'
    ? new InvalidTokenError('Another tab just failed to refresh')
    : new NetworkError('Another tab just failed to refresh', { retryAfterMs: record.retryAfterMs });

/** Tabs share a session only where all three browser APIs exist; elsewhere the engine is a single tab. */
export function canShareTabs(): boolean {
  return (
    typeof BroadcastChannel === 'function' &&
    typeof indexedDB !== 'undefined' &&
    typeof navigator !== 'undefined' &&
    typeof navigator.locks?.request === 'function'
  );
}

/** Keeps the newest token of the origin in IndexedDB, where the next lock holder is sure to see it. */
async function keepNewest(store: UseStore, token: SessionToken): Promise<void> {
  await update<SessionToken>(RECORD_KEY, (held) => (isSessionToken(held) && !isNewer(token, held) ? held : token), store);
}

async function readNewest(store: UseStore): Promise<SessionToken | null> {
  const record = await get<unknown>(RECORD_KEY, store);
  return isSessionToken(record) ? record : null;
}

/**
 * Runs `task` holding the origin-wide lock; a tab that closes mid-task releases it with the tab. `task` is
 * told whether this tab had to wait for another holder first.
 */
async function withLock<T>(name: string, signal: AbortSignal, task: (waited: boolean) => Promise<T>): Promise<T> {
  // The DOM typing does not unwrap the callback's promise; the browser does.
  const first = (await navigator.locks.request(name, { ifAvailable: true }, (lock) =>
    lock === null ? null : task(false).then((value) => ({ value })),
  )) as unknown as { value: T } | null;
  if (first !== null) return first.value;
  return navigator.locks.request(name, { signal }, () => task(true)) as unknown as Promise<T>;
}

/**
 * The cross-tab actors: the channel that carries `tab.*` events both ways, a refresh that runs under one
 * Web Lock per origin, and the wait of a new tab for the others' answer.
 */
export function createTabActors(channelName: string, config: SessionConfig, fetchToken: TokenFetcher, clock: EngineClock) {
  const store = createStore(`sessionchart:${channelName}`, 'session');
  const lockName = `sessionchart:${channelName}:refresh`;

  /**
   * A token another tab stored since this refresh was asked for, of the session it is for. A rotation's
   * answer may be received in the very millisecond of the rotation (`satisfiedAfter`): a token of another
   * session than the one rotated away counts from that millisecond on, or this tab would fetch again with
   * its own refresh token, which the rotation already spent (a replay: the server revokes the family).
   */
  const satisfies = (token: SessionToken, input: RefreshInput, now: number) => {
    const sameSession = token.sessionKey === input.session?.sessionKey;
    const issuedSince =
      input.reason === 'rotated' && !sameSession
        ? token.issuedAt >= input.satisfiedAfter
        : token.issuedAt > input.satisfiedAfter;
    return issuedSince && isFresh(token, now, config) && (input.reason === 'rotated' || sameSession);
  };

  /**
   * A failure another tab recorded, of this session, while this tab waited for the lock: the tabs queued on
   * the lock share it (and its Retry-After), so one failed attempt costs the server one request, not one per
   * tab. A tab that got the lock without waiting (`askedAt` null) tries, unless callers may not cut a
   * backoff short and the server's Retry-After still stands: then the origin keeps to it (a forced refresh,
   * asked for explicitly, still tries).
   */
  const sharedFailure = async (input: RefreshInput, askedAt: number | null) => {
    const keepsRetryAfter = !config.callersCutBackoff && input.reason !== 'forced';
    if (askedAt === null && !keepsRetryAfter) return null;
    const record = await get<unknown>(FAILURE_KEY, store);
    if (!isFailureRecord(record) || record.sessionKey !== (input.session?.sessionKey ?? null)) return null;
    if (askedAt !== null && record.at >= askedAt) return failureOf(record);
    const retryAfterLeftMs = record.at + (record.retryAfterMs ?? 0) - clock.now();
    return keepsRetryAfter && retryAfterLeftMs > 0
      ? new NetworkError('Another tab was told to wait', { retryAfterMs: retryAfterLeftMs })
      : null;
  };

  const recordFailure = async (input: RefreshInput, error: unknown) => {
    const failure = toRefreshFailure(error);
    if (failure.code === 'auth') return; // The sign-out reaches every tab as a message.
    const retryAfterMs = failure.code === 'network' ? (failure as NetworkError).retryAfterMs : undefined;
    const sessionKey = input.session?.sessionKey ?? null;
    const record: FailureRecord = { at: clock.now(), sessionKey, code: failure.code, retryAfterMs };
    await set(FAILURE_KEY, record, store);
  };

  /** `waitedSince`: when this tab asked, if it had to wait for another holder; null if it got the lock at once. */
  const refreshWithLock = async (input: RefreshInput, waitedSince: number | null, signal: AbortSignal): Promise<RefreshAnswer> => {
    const newest = await readNewest(store);
    const now = clock.now();
    if (newest && satisfies(newest, input, now)) return { token: newest, receivedAt: now };
    const failure = await sharedFailure(input, waitedSince);
    if (failure) throw failure;
    // The stored refresh token is the newest of this session: a rotated-away one is never sent again.
    const refreshToken =
      newest && newest.sessionKey === input.session?.sessionKey ? (newest.refreshToken ?? input.refreshToken) : input.refreshToken;
    const answer = await fetchToken({ ...input, refreshToken }, signal);
    if (signal.aborted) throw new AbortError('The refresh was abandoned');
    if (!('token' in answer)) {
      await recordFailure(input, answer.error);
      return answer;
    }
    const { token } = answer;
    const sessionKey = token.sessionKey ?? input.session?.sessionKey;
    if (sessionKey) await keepNewest(store, { ...token, refreshToken: token.refreshToken ?? refreshToken, sessionKey });
    return answer;
  };

  return {
    /** The request child's `refreshToken`: under the origin's lock, taking a token another tab stored meanwhile. */
    refreshUnderLock(input: RefreshInput, signal: AbortSignal): Promise<RefreshAnswer> {
      // Read at once, not after an await: a failure stamped the same millisecond counts as after the ask.
      const askedAt = clock.now();
      return withLock(lockName, signal, (waited) => refreshWithLock(input, waited ? askedAt : null, signal));
    },
    actors: {
    syncTabs: fromCallback<TabAnnouncement>(({ sendBack, receive }) => {
      const channel = new BroadcastChannel(channelName);
      channel.onmessage = (message: MessageEvent) => {
        const event = toTabEvent(message.data, clock.now());
        if (event) sendBack(event);
      };
      receive((announcement) => {
        channel.postMessage(toTabMessage(announcement));
        if (announcement.type === 'announce.token') void keepNewest(store, announcement.token);
        if (announcement.type === 'announce.signOut') void del(RECORD_KEY, store);
      });
      return () => channel.close();
    }),
    awaitOtherTabs: fromPromise<void>(
      () => new Promise((resolve) => afterDelay(RESTORE_WAIT_MS, clock.now).subscribe({ complete: () => resolve() })),
    ),
    },
  };
}
