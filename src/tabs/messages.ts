import type {
  SessionEvent,
  SessionInfo,
  SessionToken,
  StoredFailure,
  StoredSession,
  TabAnnouncement,
} from '../../machines/types.js';

/** The wire format between tabs of one origin. Anything else on the channel is ignored. */
export type TabMessage =
  | { v: 1; kind: 'token'; token: SessionToken; session: SessionInfo }
  | { v: 1; kind: 'signOut'; sessionKey: string; at: number }
  | { v: 1; kind: 'rotate'; sessionKey: string; at: number }
  | { v: 1; kind: 'refreshToken'; session: SessionInfo; refreshToken: string; at: number }
  | { v: 1; kind: 'hello' };

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
const isText = (value: unknown): value is string => typeof value === 'string' && value !== '';
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value > 0;
const isOptional = (value: unknown, check: (v: unknown) => boolean) => value === undefined || check(value);

export function isSessionToken(value: unknown): value is SessionToken {
  return (
    isRecord(value) &&
    isText(value.accessToken) &&
    isOptional(value.refreshToken, isText) &&
    isTime(value.expiresAt) &&
    isTime(value.issuedAt) &&
    value.expiresAt > value.issuedAt &&
    isOptional(value.lifeStartsAt, (lifeStartsAt) => isTime(lifeStartsAt) && lifeStartsAt < (value.issuedAt as number)) &&
    (value.serverOffsetMs === null || (typeof value.serverOffsetMs === 'number' && Number.isFinite(value.serverOffsetMs))) &&
    isText(value.sessionKey) &&
    (value.userId === null || typeof value.userId === 'string')
  );
}

function isSessionInfo(value: unknown): value is SessionInfo {
  return (
    isRecord(value) &&
    isText(value.sessionKey) &&
    (value.userId === null || typeof value.userId === 'string') &&
    isTime(value.startedAt)
  );
}

/** What another tab or an earlier start left is untrusted too: a session, its token if any, its refresh token. */
export function isStoredSession(value: unknown): value is StoredSession {
  return (
    isRecord(value) &&
    isSessionInfo(value.session) &&
    (value.token === null || (isSessionToken(value.token) && value.token.sessionKey === value.session.sessionKey)) &&
    isOptional(value.refreshToken, isText)
  );
}

export function isStoredFailure(value: unknown): value is StoredFailure {
  return (
    isRecord(value) &&
    isTime(value.at) &&
    (value.sessionKey === null || isText(value.sessionKey)) &&
    (value.code === 'network' || value.code === 'invalid_token') &&
    isOptional(value.retryAfterMs, isTime)
  );
}

/** Validates a message from another tab and turns it into a machine event; null for anything malformed. */
export function toTabEvent(data: unknown, now: number): SessionEvent | null {
  if (!isRecord(data) || data.v !== 1) return null;
  switch (data.kind) {
    case 'token':
      return isSessionToken(data.token) && isSessionInfo(data.session) && data.token.sessionKey === data.session.sessionKey
        ? { type: 'tab.token', token: data.token, session: data.session, now }
        : null;
    case 'signOut':
    case 'rotate':
      return isText(data.sessionKey) && isTime(data.at)
        ? { type: data.kind === 'signOut' ? 'tab.signOut' : 'tab.rotate', sessionKey: data.sessionKey, at: data.at }
        : null;
    case 'refreshToken':
      return isSessionInfo(data.session) && isText(data.refreshToken) && isTime(data.at)
        ? { type: 'tab.refreshToken', session: data.session, refreshToken: data.refreshToken, at: data.at }
        : null;
    case 'hello':
      return { type: 'tab.hello', now };
    default:
      return null;
  }
}

export function toTabMessage(announcement: TabAnnouncement): TabMessage {
  switch (announcement.type) {
    case 'announce.token':
      return { v: 1, kind: 'token', token: announcement.token, session: announcement.session };
    case 'announce.signOut':
      return { v: 1, kind: 'signOut', sessionKey: announcement.sessionKey, at: announcement.at };
    case 'announce.rotate':
      return { v: 1, kind: 'rotate', sessionKey: announcement.sessionKey, at: announcement.at };
    case 'announce.refreshToken': {
      const { session, refreshToken, at } = announcement;
      return { v: 1, kind: 'refreshToken', session, refreshToken, at };
    }
    case 'announce.hello':
      return { v: 1, kind: 'hello' };
  }
}
