/**
 * The demo's words for the session machine's steps in the viewer's log: what happened and why, as a user of
 * the page sees it. Only times, session keys and error messages (which never hold tokens) are read. A step
 * with no words here (a state or event the machine gains later) falls back to the viewer's event name.
 */
import { stateText, type DescribeEvent, type DescribedStep } from '../../src/viewer/index.js';
import { wasReloaded } from './restoreReport.js';
import { topState, type MachineSnapshot } from './session.js';

type Wording = (step: DescribedStep, context: MachineSnapshot['context']) => string;

const contextOf = (snapshot: DescribedStep['snapshot']) => (snapshot as MachineSnapshot).context;
const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 1000))} s`;

function expiresIn({ at }: DescribedStep, { token }: MachineSnapshot['context']): string {
  return token ? `expires in ${seconds(token.expiresAt - at)}` : 'no token held';
}

function serving(step: DescribedStep, context: MachineSnapshot['context']): string {
  return context.token && context.token.expiresAt > step.at
    ? `serving the held token while it is valid (${expiresIn(step, context)})`
    : 'no valid token to serve';
}

/** When the next attempt comes, in an `offline` state. */
function offlineAttempts(step: DescribedStep, context: MachineSnapshot['context']): string {
  if (!context.online) return 'no attempts until the network is back';
  // A firm step: the server asked to wait, or a wake-up or the network's return already had its attempt.
  return stateText(step.snapshot.value).endsWith('.firm') ? 'retrying after a backoff that nothing cuts short' : 'retrying after a backoff';
}

/** Where the step left the session, in words. */
function outcome(step: DescribedStep, context: MachineSnapshot['context']): string {
  switch (topState(step.snapshot)) {
    case 'fresh':
      return `the token is fresh, ${expiresIn(step, context)}`;
    case 'stale':
      return 'the token is due for refresh and still served';
    case 'refreshing':
      return 'asking the server for a new token';
    case 'offline':
      return `${offlineAttempts(step, context)}; ${serving(step, context)}`;
    case 'rotated':
      return "nothing is served until the new session's token arrives";
    case 'signedOut':
      return 'signed out';
    case 'restoring':
      return stateText(step.snapshot.value) === 'restoring.fetching'
        ? 'one refresh renews the session kept from before'
        : 'asking the other tabs for their session';
    default:
      return `now in ${topState(step.snapshot)}`;
  }
}

const sessionOf = (context: MachineSnapshot['context']) => context.session?.sessionKey ?? 'none';
/** A request's report that arrives after a sign-in replaced the session it was sent for: the machine drops it. */
const isForReplacedSession = ({ event, previous }: DescribedStep) =>
  previous !== undefined && (event as { request?: { session?: unknown } }).request?.session !== contextOf(previous).session;
const replaced = (step: DescribedStep, context: MachineSnapshot['context']) =>
  `a refresh sent for a session since replaced settled: it is dropped; ${outcome(step, context)}`;
const changedOr = (step: DescribedStep, context: MachineSnapshot['context'], unchanged: string) =>
  step.changed ? outcome(step, context) : unchanged;

/** What the session kept from before came to, once read: served as it is, or renewed by one refresh. */
function readSession(step: DescribedStep, context: MachineSnapshot['context']): string {
  const session = sessionOf(context);
  const { token } = context;
  if (context.session === null) return `nothing kept from before: ${outcome(step, context)}`;
  if (topState(step.snapshot) === 'restoring') {
    const kept = token === null ? 'a refresh token alone' : `its access token ${token.expiresAt > step.at ? 'about to expire' : 'expired'}`;
    return `found session ${session} kept from before, ${kept}: one refresh (reason "restore") renews it`;
  }
  return token !== null && token.expiresAt > step.at
    ? `restored session ${session} kept by the tabs (IndexedDB), with no request: token ${expiresIn(step, context)}`
    : `found session ${session} kept from before, its token expired: ${outcome(step, context)}`;
}

const WORDS: Record<string, Wording> = {
  start: (step) =>
    `${wasReloaded() ? 'this page was reloaded' : 'this tab opened'}: ${
      topState(step.snapshot) === 'restoring'
        ? 'reading the session kept from before (IndexedDB); the other tabs are asked only if none was kept'
        : 'no session yet'
    }`,
  'done(readSession)': readSession,
  'tab.cleared': () => 'shown again from the back-forward cache: the session ended in another tab meanwhile, so here too',
  'done(awaitOtherTabs)': () => 'no other tab had a session: signed out',
  'tab.token': (step, context) =>
    step.previous && topState(step.previous) === 'restoring'
      ? `restored session ${sessionOf(context)} from another tab: token ${expiresIn(step, context)}`
      : `another tab got a newer token: this tab takes it, ${expiresIn(step, context)}`,
  'tab.hello': (_, context) =>
    context.session ? 'a new tab asked for the session: this tab shares it' : 'a new tab asked for a session: this tab has none',
  'user.signIn': (step, context) => `signed in: session ${sessionOf(context)}, token ${expiresIn(step, context)}`,
  'user.signOut': () => 'signed out: the session is over, nothing is served',
  'tab.signOut': () => 'another tab signed out: this tab too',
  'user.rotate': (step) =>
    stateText(step.snapshot.value) === 'rotated.awaitingRequest'
      ? "the session was rotated (a password change): its token is dropped; the refresh in flight answers first, then the new session's token is fetched"
      : "the session was rotated (a password change): its token is dropped, fetching the new session's",
  'tab.rotate': () => 'another tab saw the session rotate: its token is dropped here too',
  'user.refresh': (step, context) => `the app forced a refresh: ${changedOr(step, context, 'one is under way, it waits for that one')}`,
  'user.request': (step, context) => `the app asked for a token it could not be served at once: ${changedOr(step, context, 'it waits')}`,
  'clock.check': (step, context) => `a read compared the token with the clock: ${changedOr(step, context, 'nothing to do')}`,
  'timer.refreshDue': (step, context) => `the refresh timer fired: ${outcome(step, context)}`,
  'timer.retryDue': (step, context) =>
    topState(step.snapshot) === 'fresh'
      ? `the backoff wait is over: the held token is still fresh, so no request until its refresh is due (${expiresIn(step, context)})`
      : `the backoff wait is over: ${outcome(step, context)}`,
  'env.offline': (step, context) =>
    context.session ? `the network went down: ${serving(step, context)}, no attempts until it is back` : 'the network went down (no session)',
  'env.online': (step, context) =>
    step.previous && !contextOf(step.previous).online
      ? `the network is back: ${outcome(step, context)}`
      : 'the browser reports the network up, as it was: nothing to do',
  'env.wake': (step, context) =>
    `the page woke up (a return to this tab, or the end of a sleep): ${changedOr(step, context, 'nothing to do')}`,
  'done(awaitRefreshTurn)': (step, context) => `this tab's turn to refresh: ${outcome(step, context)}`,
  // The request child's report: the answer to the one request in flight, judged by the state it finds.
  'request.done': (step, context) => {
    if (isForReplacedSession(step)) return replaced(step, context);
    const before = step.previous ? stateText(step.previous.value) : '';
    if (before === 'restoring.fetching') return `the restore refresh answered: session ${sessionOf(context)} is back, ${expiresIn(step, context)}`;
    if (before === 'rotated.awaitingRequest') {
      return `the refresh sent before the rotation answered: its refresh token is kept, its access token never served; ${outcome(step, context)}`;
    }
    if (before.startsWith('rotated')) {
      return topState(step.snapshot) === 'rotated'
        ? `the server answered the dropped token again, no token of the new session: ${outcome(step, context)}`
        : `the new session's token arrived: session ${sessionOf(context)}, ${expiresIn(step, context)}`;
    }
    if (topState(step.snapshot) === 'offline') return `the server answered the token already held, no new one: ${outcome(step, context)}`;
    const sessionBefore = step.previous && contextOf(step.previous).session?.sessionKey;
    return sessionBefore && sessionBefore !== context.session?.sessionKey
      ? `refresh answered with a new session ${sessionOf(context)} (the server rotated it): ${expiresIn(step, context)}`
      : `refresh answered: new token, ${expiresIn(step, context)}`;
  },
  // A refused, failed or timed-out request (the child's timeout is a network fault like any other).
  'request.failed': (step, context) => {
    if (isForReplacedSession(step)) return replaced(step, context);
    const why = context.error?.message ?? 'no reason given';
    if (topState(step.snapshot) === 'signedOut') return `refresh refused (${why}): the session is over, signed out`;
    const wait = context.retryAfterMs ? `; the server asks to wait ${seconds(context.retryAfterMs)}` : '';
    return `refresh failed (${why}${wait}): ${outcome(step, context)}`;
  },
};

export const describeSessionStep: DescribeEvent = (step) => WORDS[step.label]?.(step, contextOf(step.snapshot));
