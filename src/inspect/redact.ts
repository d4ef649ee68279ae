/**
 * Copies inspection data with every session secret replaced by a short description. The live objects (the
 * machine's context, events, actors) are never changed: inspectors get copies, the engine keeps its tokens.
 */

/** What stands in for a token: enough to follow it through the inspector, nothing to replay it with. */
export interface RedactedToken {
  readonly redacted: 'token';
  /** The session the token belongs to, when the surrounding data says. */
  readonly sessionKey: string | null;
  /** Local-clock ms expiry of an access token, when the surrounding data says. */
  readonly expiresAt: number | null;
  /** `tokenFingerprint` of the token: tells tokens apart across events. */
  readonly fingerprint: string;
}

export interface RedactOptions {
  /** Names of fields whose string values are secrets, besides `accessToken` and `refreshToken`. */
  secretFields?: readonly string[];
}

const DEFAULT_SECRET_FIELDS = ['accessToken', 'refreshToken'];

/** A JWS or JWE in compact form: its base64url JSON header always starts with `eyJ` (`{"`). */
const JWT_SOURCE = String.raw`eyJ[\w-]+(?:\.[\w-]*){2,4}`;
const WHOLE_JWT = new RegExp(`^${JWT_SOURCE}$`);
const JWT_IN_TEXT = new RegExp(JWT_SOURCE, 'g');

/**
 * 32-bit FNV-1a of the string as 8 hex characters. A fingerprint to recognise a token by, not a secret and
 * not a cryptographic hash; it is synchronous and runs the same in browsers and Node.
 */
export function tokenFingerprint(token: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < token.length; i += 1) {
    hash ^= token.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}

type Fields = Record<string, unknown>;

interface ActorLike {
  id: string;
  sessionId: string;
  systemId?: string;
  logic?: unknown;
  src?: unknown;
  _parent?: unknown;
  send: (...args: unknown[]) => unknown;
  getSnapshot: () => unknown;
  getPersistedSnapshot?: () => unknown;
  toJSON?: () => unknown;
}

const isObject = (value: unknown): value is Fields => typeof value === 'object' && value !== null;

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function isActorRef(value: object): value is ActorLike {
  const { sessionId, send, getSnapshot } = value as Fields;
  return typeof sessionId === 'string' && typeof send === 'function' && typeof getSnapshot === 'function';
}

/** The session a piece of data is about: a token's own key, or that of the session next to it (context, input). */
function sessionKeyOf(fields: Fields): string | null {
  if (typeof fields.sessionKey === 'string') return fields.sessionKey;
  const session = fields.session;
  return isObject(session) && typeof session.sessionKey === 'string' ? session.sessionKey : null;
}

/**
 * A redacting copier. It recurses into plain objects and arrays; errors are copied with the same prototype
 * (so `instanceof` and `code` still work) and a scrubbed message; actor references become views whose
 * snapshots are redacted when read (inspectors read an actor's snapshot later, from the reference). Other
 * class instances (machines, state nodes, sets, subscriptions) are passed as they are: they hold no tokens.
 */
export function createRedactor(options: RedactOptions = {}): (value: unknown) => unknown {
  const secretFields = new Set([...DEFAULT_SECRET_FIELDS, ...(options.secretFields ?? [])]);
  const actorViews = new WeakMap<object, object>();

  const describe = (token: string, sessionKey: string | null, expiresAt: number | null): RedactedToken => ({
    redacted: 'token',
    sessionKey,
    expiresAt,
    fingerprint: tokenFingerprint(token),
  });

  const scrub = (text: string, sessionKey: string | null): unknown =>
    WHOLE_JWT.test(text)
      ? describe(text, sessionKey, null)
      : text.replace(JWT_IN_TEXT, (jwt) => `[redacted token ${tokenFingerprint(jwt)}]`);

  function copyFields(source: Fields, target: Fields, inherited: string | null, seen: Map<object, unknown>) {
    const sessionKey = sessionKeyOf(source) ?? inherited;
    for (const [key, value] of Object.entries(source)) {
      if (secretFields.has(key) && typeof value === 'string') {
        const expiresAt = key === 'accessToken' && typeof source.expiresAt === 'number' ? source.expiresAt : null;
        target[key] = describe(value, sessionKey, expiresAt);
      } else {
        target[key] = redact(value, sessionKey, seen);
      }
    }
  }

  function copyError(error: Error, sessionKey: string | null, seen: Map<object, unknown>): Fields {
    const copy = Object.create(Object.getPrototypeOf(error)) as Fields;
    seen.set(error, copy);
    copy.name = error.name;
    copy.message = scrub(error.message, sessionKey);
    copyFields(error as unknown as Fields, copy, sessionKey, seen);
    if (error.cause !== undefined) copy.cause = redact(error.cause, sessionKey, seen);
    return copy;
  }

  /**
   * A read-only stand-in for an actor: what inspectors read (ids, logic, parent, snapshots), redacted when
   * read. A plain object, not a proxy: serializers that write into what they walk never reach the actor.
   */
  function actorView(actor: ActorLike): object {
    const known = actorViews.get(actor);
    if (known) return known;
    const view = Object.defineProperties(
      {
        id: actor.id,
        sessionId: actor.sessionId,
        getSnapshot: () => redactValue(actor.getSnapshot()),
        getPersistedSnapshot: () => redactValue(actor.getPersistedSnapshot?.()),
        toJSON: () => actor.toJSON?.() ?? { id: actor.id },
      },
      {
        systemId: { get: () => actor.systemId },
        logic: { get: () => actor.logic },
        src: { get: () => actor.src },
        _parent: { get: () => redactValue(actor._parent) },
      },
    );
    actorViews.set(actor, view);
    return view;
  }

  function redact(value: unknown, sessionKey: string | null, seen: Map<object, unknown>): unknown {
    if (typeof value === 'string') return scrub(value, sessionKey);
    if (!isObject(value)) return value;
    if (seen.has(value)) return seen.get(value);
    if (isActorRef(value)) return actorView(value);
    if (value instanceof Error) return copyError(value, sessionKey, seen);
    if (Array.isArray(value)) {
      const copy: unknown[] = [];
      seen.set(value, copy);
      for (const item of value) copy.push(redact(item, sessionKey, seen));
      return copy;
    }
    if (!isPlainObject(value)) return value;
    const copy: Fields = {};
    seen.set(value, copy);
    copyFields(value, copy, sessionKey, seen);
    return copy;
  }

  const redactValue = (value: unknown) => redact(value, null, new Map());
  return redactValue;
}
