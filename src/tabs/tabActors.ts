import { fromCallback, fromPromise } from 'xstate';
import { SessionError } from '../errors.js';
import type { EngineClock } from '../engine/clock.js';
import { afterDelay } from '../engine/timers.js';
import type {
  RequestEvent,
  SessionEvent,
  SessionInfo,
  SessionToken,
  StoredFailure,
  StoreReading,
  TabAnnouncement,
} from '../../machines/types.js';
import { shiftStored, type NewestRecord } from '../engine/vault.js';
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

/** Times between tabs are wall-clock ms (tabs share the wall clock, not each other's engine clocks). */
const shiftToken = (token: SessionToken, by: number): SessionToken => ({
  ...token,
  expiresAt: token.expiresAt + by,
  issuedAt: token.issuedAt + by,
});
const shiftSession = (session: SessionInfo, by: number): SessionInfo => ({ ...session, startedAt: session.startedAt + by });

function shiftEvent(event: SessionEvent, by: number): SessionEvent {
  if (event.type === 'tab.token') return { ...event, token: shiftToken(event.token, by), session: shiftSession(event.session, by) };
  if (event.type === 'tab.signOut' || event.type === 'tab.rotate') return { ...event, at: event.at + by };
  return event;
}

function shiftAnnouncement(announcement: TabAnnouncement, by: number): TabAnnouncement {
  if (announcement.type === 'announce.token') {
    return { ...announcement, token: shiftToken(announcement.token, by), session: shiftSession(announcement.session, by) };
  }
  if (announcement.type === 'announce.signOut' || announcement.type === 'announce.rotate') {
    return { ...announcement, at: announcement.at + by };
  }
  return announcement;
}

/**
 * The effects of the cross-tab protocol, for the session machine (`syncTabs`, `awaitOtherTabs`) and its request
 * child (`holdLock`, `readStore`, `writeFailure`), and the origin's newest session for the vault. The store is tried once at the start: a tab whose
 * store cannot be used (a private mode, blocked storage, an open that fails) keeps to itself, a single tab that
 * neither takes the lock nor talks to the others, since without the store the next lock holder could not see the
 * refresh token the last one was given. Every failure goes to `report`, typed; none is left unhandled.
 */
export function createTabActors({ channel: name, environment, clock, report }: TabLinkOptions) {
  const fail = (what: string) => (cause: unknown) => report(new SessionError(`The tabs' ${what} failed`, { cause }));
  const toEngine = () => clock.fromWall(0);
  const store = (() => {
    try {
      return environment.store(name);
    } catch (cause) {
      fail('store')(cause);
      return null;
    }
  })();
  const usable: Promise<boolean> = store === null ? Promise.resolve(false) : store.get(NEWEST).then(() => true, (cause) => (fail('store')(cause), false));
  const lockName = `sessionchart:${name}:refresh`;

  const readStore = async (): Promise<StoreReading> => {
    const [newest, failure] = (await usable) && store ? await Promise.all([store.get(NEWEST), store.get(FAILURE)]) : [null, null];
    const by = toEngine();
    return {
      newest: isStoredSession(newest) ? shiftStored(newest, by) : null,
      failure: isStoredFailure(failure) ? { ...failure, at: failure.at + by } : null,
      now: clock.now(),
    };
  };

  /** The origin's newest session, for the vault (which writes it, under the lock or not) and `restoring`. */
  const newest: NewestRecord = {
    get: async () => ((await usable) && store ? store.get(NEWEST) : null),
    set: async (value) => void ((await usable) && store && (await store.set(NEWEST, value))),
    delete: async () => void ((await usable) && store && (await store.delete(NEWEST))),
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
          environment
            .lock(lockName, controller.signal, (waited) => (granted(waited), held))
            // A lock that cannot be had is no reason not to refresh: go on as a single tab would.
            .catch((cause: unknown) => !controller.signal.aborted && (fail('lock')(cause), granted(false)));
        });
        return () => {
          release();
          controller.abort();
        };
      }),
      readStore: fromPromise<StoreReading>(() => readStore().catch((cause: unknown) => (fail('store')(cause), Promise.reject(cause)))),
      writeFailure: fromPromise<void, StoredFailure>(async ({ input }) => {
        if (!(await usable) || !store) return;
        await store.set(FAILURE, { ...input, at: input.at - toEngine() }).catch((cause: unknown) => fail('store')(cause));
      }),
    },
    newest,
    session: {
      syncTabs: fromCallback<TabAnnouncement>(({ sendBack, receive }) => {
        const opened: Promise<TabChannel | null> = usable.then((shared) => {
          if (!shared) return null;
          try {
            return environment.open(name, (data) => {
              const event = toTabEvent(data, clock.now());
              if (event) sendBack(shiftEvent(event, toEngine()));
            });
          } catch (cause) {
            fail('channel')(cause);
            return null;
          }
        });
        receive((announcement) => {
          void opened.then((channel) => {
            try {
              channel?.post(toTabMessage(shiftAnnouncement(announcement, -toEngine())));
            } catch (cause) {
              fail('channel')(cause);
            }
          });
        });
        // Back from the back-forward cache, the page missed the others' messages: the store tells what changed.
        const stopWatching = environment.shown?.(() => {
          void readStore().then(({ newest: stored, now }) => {
            if (stored === null) sendBack({ type: 'tab.cleared', now });
            else if (stored.token) sendBack({ type: 'tab.token', token: stored.token, session: stored.session, now });
          }, fail('store'));
        });
        return () => {
          stopWatching?.();
          void opened.then((channel) => channel?.close());
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
