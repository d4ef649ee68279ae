import { fromCallback, fromPromise } from 'xstate';
import type { EngineClock } from '../engine/clock.js';
import { afterDelay } from '../engine/timers.js';
import type {
  RequestEvent,
  SessionEvent,
  StoredFailure,
  StoreReading,
  TabAnnouncement,
} from '../../machines/types.js';
import { isSupersededBy } from '../../machines/tabRules.js';
import { reporting } from '../engine/reported.js';
import { shiftSession, shiftStored, shiftToken, type NewestRecord } from '../engine/vault.js';
import type { TabChannel, TabEnvironment } from './environment.js';
import { isStoredFailure, isStoredSession, toTabEvent, toTabMessage } from './messages.js';

/** How long a new tab waits for the open tabs to answer before it starts signed out. */
export const RESTORE_WAIT_MS = 300;

const NEWEST = 'newest';
const FAILURE = 'failure';

export interface TabLinkOptions {
  channel: string;
  environment: TabEnvironment;
  clock: EngineClock;
  /** Where a failing channel, lock or store is reported (the engine's `onError`); the engine runs on. */
  report: (error: unknown) => void;
}

// Times between tabs are wall-clock ms (tabs share the wall clock, not each other's engine clocks).

function shiftEvent(event: SessionEvent, by: number): SessionEvent {
  if (event.type === 'tab.token') return { ...event, token: shiftToken(event.token, by), session: shiftSession(event.session, by) };
  if (event.type === 'tab.refreshToken') return { ...event, session: shiftSession(event.session, by), at: event.at + by };
  if (event.type === 'tab.signOut' || event.type === 'tab.rotate') return { ...event, at: event.at + by };
  return event;
}

function shiftAnnouncement(announcement: TabAnnouncement, by: number): TabAnnouncement {
  if (announcement.type === 'announce.token') {
    return { ...announcement, token: shiftToken(announcement.token, by), session: shiftSession(announcement.session, by) };
  }
  if (announcement.type === 'announce.refreshToken') {
    return { ...announcement, session: shiftSession(announcement.session, by), at: announcement.at + by };
  }
  if (announcement.type === 'announce.signOut' || announcement.type === 'announce.rotate') {
    return { ...announcement, at: announcement.at + by };
  }
  return announcement;
}

/**
 * The effects of the cross-tab protocol, for the session machine (`syncTabs`, `awaitOtherTabs`) and its request
 * child (`holdLock`, `readStore`, `writeFailure`), and the origin's newest session for the vault. The store, the
 * lock and the channel are tried once at the start: a tab where one of them throws or rejects (a private mode,
 * blocked storage, an open that fails) keeps to itself, a single tab that neither takes the lock nor talks to the
 * others nor reads their session, since without the store the next lock holder could not see the refresh token
 * the last one was given, without the lock two tabs would send the same one, and without the channel it would
 * never hear of a sign-out. Every failure goes to `report`, typed; none is left unhandled.
 */
export function createTabActors({ channel: name, environment, clock, report }: TabLinkOptions) {
  const { failed: fail, attempt } = reporting(report, "The tabs'");
  /** `run`'s result, or undefined when it throws (reported). */
  const guard = <T>(what: string, run: () => T): T | undefined => {
    try {
      return run();
    } catch (cause) {
      fail(what)(cause);
      return undefined;
    }
  };
  const toEngine = () => clock.fromWall(0);
  const store = guard('store', () => environment.store(name)) ?? null;
  const lockName = `sessionchart:${name}:refresh`;
  /** Whoever listens to the channel: the running `syncTabs`. */
  let hear: (data: unknown) => void = () => {};
  const channel: Promise<TabChannel | null> = (async () => {
    const stored = store && (await attempt('store', async () => (await store.get(NEWEST), true)));
    // A lock of its own, so the probe never waits behind a tab that holds the refresh lock.
    const locks = stored && (await attempt('lock', () => environment.lock(`${lockName}:probe`, new AbortController().signal, async () => true)));
    return locks ? ((await attempt('channel', () => environment.open(name, (data) => hear(data)))) ?? null) : null;
  })();
  const usable: Promise<boolean> = channel.then((opened) => opened !== null);

  const readStore = async (): Promise<StoreReading> => {
    const [newest, failure] = (await usable) && store ? await Promise.all([store.get(NEWEST), store.get(FAILURE)]) : [null, null];
    const by = toEngine();
    return {
      newest: isStoredSession(newest) ? shiftStored(newest, by) : null,
      failure: isStoredFailure(failure) ? { ...failure, at: failure.at + by } : null,
      now: clock.now(),
    };
  };

  /** For the request under the lock: a store that cannot be read is reported, and read as empty. */
  const readForRequest = (): Promise<StoreReading> =>
    readStore().catch((cause: unknown) => {
      fail('store')(cause);
      return { newest: null, failure: null, now: clock.now() };
    });

  /** The origin's newest session, for the vault (which writes it, under the lock or not) and `restoring`. */
  const newest: NewestRecord = {
    get: async () => ((await usable) && store ? store.get(NEWEST) : null),
    set: async (value) => {
      if (!(await usable) || !store) return;
      await store.update(NEWEST, (current) =>
        isStoredSession(value) && isStoredSession(current) && isSupersededBy(value, current) ? current : value,
      );
    },
    delete: async () => {
      if ((await usable) && store) await store.delete(NEWEST);
    },
  };

  return {
    request: {
      holdLock: fromCallback<RequestEvent>(({ sendBack }) => {
        const controller = new AbortController();
        let release = () => {};
        const held = new Promise<void>((resolve) => (release = resolve));
        const granted = (waited: boolean) => sendBack({ type: 'lock.granted', waited, now: clock.now() });
        void usable.then((shared) => {
          if (controller.signal.aborted) return;
          if (!shared) return granted(false);
          // A lock that fails (throws or rejects) after it worked at the start is not taken as granted: sending without
          // it could spend the refresh token its holder is sending. The request ends at its timeout, a NetworkError,
          // and the tab takes the other tabs' tokens meanwhile.
          (async () => environment.lock(lockName, controller.signal, (waited) => (granted(waited), held)))().catch(
            (cause: unknown) => !controller.signal.aborted && fail('lock')(cause),
          );
        });
        return () => {
          release();
          controller.abort();
        };
      }),
      readStore: fromPromise<StoreReading>(readForRequest),
      writeFailure: fromPromise<void, StoredFailure>(async ({ input }) => {
        if (!(await usable) || !store) return;
        await store.set(FAILURE, { ...input, at: input.at - toEngine() }).catch((cause: unknown) => fail('store')(cause));
      }),
    },
    newest,
    session: {
      syncTabs: fromCallback<TabAnnouncement>(({ sendBack, receive }) => {
        hear = (data) => {
          const event = toTabEvent(data, clock.now());
          if (!event) return;
          sendBack(shiftEvent(event, toEngine()));
        };
        receive((announcement) => {
          void channel.then((opened) => {
            guard('channel', () => opened?.post(toTabMessage(shiftAnnouncement(announcement, -toEngine()))));
          });
        });
        // Back from the back-forward cache, the page missed the others' messages: the store tells what changed.
        // An environment's `shown` (or its stop) that throws is reported; the tab runs on without it.
        const watchPage = () =>
          environment.shown?.(() => {
            void readStore().then(({ newest: stored, now }) => {
              if (stored === null) sendBack({ type: 'tab.cleared', now });
              else if (stored.token) sendBack({ type: 'tab.token', token: stored.token, session: stored.session, now });
            }, fail('store'));
          });
        const stopWatching = guard('page watch', watchPage);
        return () => {
          hear = () => {};
          if (stopWatching) guard('page watch', stopWatching);
          void channel.then((opened) => opened?.close()).catch(fail('channel'));
        };
      }),
      // The wait starts once the channel can carry this tab's hello (after the store was tried).
      awaitOtherTabs: fromPromise<void>(
        () =>
          new Promise((resolve) =>
            void usable.then(() => afterDelay(RESTORE_WAIT_MS, clock.now).subscribe({ complete: () => resolve() })),
          ),
      ),
    },
  };
}
