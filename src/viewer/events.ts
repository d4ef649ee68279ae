/**
 * What the viewer's event log shows of an event by itself: its readable name, the session it is about and an
 * error code. Nothing else is read out of an event, so tokens (a sign-in's, a refresh's result) cannot reach
 * the page. Words for a particular machine come from the page, through a `DescribeEvent`.
 */
import type { AnyMachineSnapshot, EventObject } from 'xstate';

export interface LoggedEvent {
  type: string;
  /** The session key the event names (`token.sessionKey`, `session.sessionKey` or `sessionKey`). */
  sessionKey: string | null;
  /** A failed invoked actor's error `code` (`network`, `auth`...), when it has a plain one. */
  errorCode: string | null;
}

/** One event as the actor took it. The event and snapshots are the actor's own: they may hold secrets. */
export interface LoggedStep {
  event: EventObject;
  /** The actor's snapshot after the event, and before it (undefined when the recorder saw none before). */
  snapshot: AnyMachineSnapshot;
  previous: AnyMachineSnapshot | undefined;
  /** Whether the event took a transition. */
  changed: boolean;
  /** Date.now() when the actor had processed it. */
  at: number;
}

/** A step with the event's readable name, as the chart labels it: `done(refreshToken)`, `start`. */
export interface DescribedStep extends LoggedStep {
  label: string;
}

/**
 * Says in users' words what a step did and why, for the log; undefined falls back to the event's name.
 * It must not return secrets.
 */
export type DescribeEvent = (step: DescribedStep) => string | undefined;

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

export function summarizeEvent(event: EventObject): LoggedEvent {
  const code = fieldOf(fieldOf(event, 'error'), 'code');
  return {
    type: event.type,
    sessionKey: sessionKeyOf(event),
    errorCode: typeof code === 'string' && PLAIN_CODE.test(code) ? code : null,
  };
}
