/**
 * What the viewer's event log may show of an event: its type, the session it is about, an error code and a
 * short description. Nothing else is ever read out of an event, so tokens (`user.signIn`, `tab.token`, a
 * refresh's result) cannot reach the page.
 */
import type { EventObject } from 'xstate';

export interface LoggedEvent {
  type: string;
  /** The session key the event names (`token.sessionKey`, `session.sessionKey` or `sessionKey`). */
  sessionKey: string | null;
  /** A failed invoked actor's error `code` (`network`, `auth`...), when it has a plain one. */
  errorCode: string | null;
  description: string | null;
}

/** Describes an event for the log; return undefined to fall back to the built-in descriptions. */
export type DescribeEvent = (event: EventObject) => string | undefined;

/** sessionchart's events, as the session machine hears them. */
export const SESSION_EVENT_DESCRIPTIONS: Readonly<Record<string, string>> = {
  'xstate.init': 'the actor started',
  'user.signIn': 'signIn(): a token to hold; another session key starts a new session',
  'user.signOut': 'signOut(): the session ends at once, any refresh is aborted',
  'user.rotate': 'rotate(): the session changed without a token; the old one is dropped',
  'user.refresh': 'getToken({ forceRefresh: true }): one new token, shared by concurrent callers',
  'user.request': 'getToken() found no servable token, or a stale one: a refresh is due',
  'clock.check': 'a read compared the held token with the clock',
  'timer.refreshDue': 'the refresh timer fired',
  'timer.retryDue': 'the backoff wait is over: try again',
  'env.online': 'online$: the network is back',
  'env.offline': 'online$: the network is down, no attempts until it is back',
  'env.wake': 'resume$: the page or the device woke up, the clock is read afresh',
  'tab.token': 'another tab has a newer token of this session (or a newer session)',
  'tab.signOut': 'another tab signed out',
  'tab.rotate': 'another tab saw the session rotate',
  'tab.hello': 'a new tab asks for the session',
  'xstate.done.actor.refreshToken': 'the refresh answered with a token',
  'xstate.error.actor.refreshToken': 'the refresh failed',
  'xstate.done.actor.awaitRefreshTurn': "this tab's turn to refresh",
  'xstate.done.actor.awaitOtherTabs': 'no other tab answered: signed out',
};

const PLAIN_CODE = /^[a-z][a-z_]{0,31}$/;
/** Session keys are ids, not secrets; anything long enough to be a token is not shown. */
const PLAIN_KEY = /^[\w.:@-]{1,64}$/;

const fieldOf = (value: unknown, field: string): unknown =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[field] : undefined;

function sessionKeyOf(event: EventObject): string | null {
  const candidates = [
    fieldOf(fieldOf(event, 'token'), 'sessionKey'),
    fieldOf(fieldOf(event, 'session'), 'sessionKey'),
    fieldOf(event, 'sessionKey'),
  ];
  const key = candidates.find((candidate) => typeof candidate === 'string');
  return typeof key === 'string' && PLAIN_KEY.test(key) ? key : null;
}

function builtInDescription(type: string): string | null {
  const known = SESSION_EVENT_DESCRIPTIONS[type];
  if (known) return known;
  const actorEvent = /^xstate\.(done|error)\.actor\.(.+)$/.exec(type);
  if (actorEvent) return actorEvent[1] === 'done' ? `${actorEvent[2]} finished` : `${actorEvent[2]} failed`;
  if (type.startsWith('xstate.after.')) return 'a delayed transition is due';
  return null;
}

export function summarizeEvent(event: EventObject, describe?: DescribeEvent): LoggedEvent {
  const code = fieldOf(fieldOf(event, 'error'), 'code');
  return {
    type: event.type,
    sessionKey: sessionKeyOf(event),
    errorCode: typeof code === 'string' && PLAIN_CODE.test(code) ? code : null,
    description: describe?.(event) ?? builtInDescription(event.type),
  };
}
