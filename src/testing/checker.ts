import type { SessionEngine } from '../engine/engine.js';
import type { SessionInfo } from '../types.js';
import { Ledger } from './ledger.js';
import type { ServerSession } from './sessions.js';
import type { TokenServer } from './types.js';
import type { InvariantChecker, InvariantCheckerOptions, ServerEvent, TokenRequest, Violation } from './types.js';
import { Waits } from './waits.js';
import { checkHeld } from './held.js';

interface Watched {
  readonly name: string;
  readonly engine: SessionEngine;
  /** The server session of the last token it handed out or was given. */
  held: ServerSession | undefined;
  session: SessionInfo | null;
  identityChangeAllowed: boolean;
  endAllowed: boolean;
  stopped: boolean;
  /**
   * Timer time it last left `fresh` or `signedOut`: a tab queued for the lock began its attempt no earlier (a
   * rotation or an outage meanwhile changes its status, not when the attempt's timeout started).
   */
  busySince: number;
  readonly undo: Array<() => void>;
}

const IDLE_STATUSES = new Set(['fresh', 'signedOut']);
const STARTING_REASONS = new Set(['rotated', 'restore']);

/**
 * Watches engines (one, or the tabs of one origin) and the token server they refresh against, and records every
 * break of the contract's invariants that shows from outside: what they serve (`getToken`, `restore`, `peekToken`,
 * `token$`), how their sessions change (`session$`), and what reaches the server. It wraps the engines' methods
 * (a test calls them as usual) until `stop()`.
 */
export function checkInvariants(
  engines: SessionEngine | readonly SessionEngine[],
  server: TokenServer,
  options: InvariantCheckerOptions = {},
): InvariantChecker {
  const timeoutMs = options.refreshTimeoutMs ?? 30_000;
  const timerNow = options.timerNow ?? Date.now;
  const groupOf = options.groupOf ?? (() => 'all');
  const ledger = new Ledger(server);
  const violations: Violation[] = [];
  const watched: Watched[] = [];
  const open = new Map<TokenRequest, number>();
  /** The clients each group's requests came from: more than one, and a request may have waited for their lock. */
  const clientsOf = new Map<string, Set<string>>();

  const violate = (invariant: Violation['invariant'], event: string, message: string, extra: Partial<Violation> = {}) =>
    void violations.push({ invariant, at: Date.now(), event, message, ...extra });
  const waits = new Waits(timerNow, violate);
  const live = () => watched.filter((w) => !w.stopped);
  const sessionOfKey = (key: string | null | undefined) => (key == null ? undefined : server.session(key));
  const heldBy = (w: Watched) => w.held ?? sessionOfKey(w.engine.getSnapshot().sessionKey);
  const senderOf = (request: TokenRequest) =>
    watched.find((w) => w.name === request.client) ?? (watched.length === 1 ? watched[0] : undefined);

  /** Invariants 1 and 2 on a token an engine handed out. */
  function served(w: Watched, token: string | null | undefined, event: string) {
    if (typeof token !== 'string') return;
    const issued = server.issued(token);
    if (!issued) return violate(2, event, `${w.name} served a token the server never issued`);
    w.held = issued.session;
    const pastMs = server.now() - issued.expiresAt;
    if (pastMs >= 0) violate(1, event, `${w.name} served a token ${pastMs} ms expired`);
    if (ledger.isDead(token, issued)) violate(2, event, `${w.name} served a token of an ended or rotated-away session`);
  }

  function endSession(session: ServerSession | undefined, signedOut: boolean) {
    ledger.kill(session);
    if (signedOut && session) ledger.ended.add(session);
    ledger.lastEnd = server.stamp();
  }

  /** Invariants 5 and 6: a session ends or changes only for a reason. */
  function sessionChanged(w: Watched, next: SessionInfo | null) {
    const previous = w.session;
    w.session = next;
    if (previous === next) return;
    if (previous === null) {
      // Taking up a session where there was none changes nothing held; it uses up the allowance that caused it.
      w.identityChangeAllowed = false;
      return;
    }
    const before = w.held ?? sessionOfKey(previous.sessionKey);
    if (next === null) {
      if (!w.endAllowed && !(before && ledger.ended.has(before))) {
        violate(5, 'session$', `${w.name} was signed out without signOut() or a refusal by the server`);
      }
      endSession(before, false);
    } else {
      if (!w.identityChangeAllowed && !ledger.started.has(next.sessionKey)) {
        violate(6, 'session$', `${w.name} changed session (${previous.sessionKey} -> ${next.sessionKey}) with no sign-in, rotation or restore`);
      }
      // A key the server never gave (an engine's own, for a token naming none) is the session of the token it holds.
      const heldToken = w.engine.actor?.getSnapshot().context.token?.accessToken;
      const after = sessionOfKey(next.sessionKey) ?? (heldToken === undefined ? undefined : server.issued(heldToken)?.session);
      if (after !== before) ledger.kill(before);
      w.held = after;
    }
    w.identityChangeAllowed = false;
    w.endAllowed = false;
  }

  function wrap(w: Watched) {
    const { engine } = w;
    const original = {
      getToken: engine.getToken,
      restore: engine.restore,
      peekToken: engine.peekToken,
      signIn: engine.signIn,
      signOut: engine.signOut,
      rotate: engine.rotate,
      stop: engine.stop,
    };
    const limitFor = (restore: boolean) => (restore || engine.getSnapshot().status === 'restoring' ? 2 * timeoutMs : timeoutMs);
    engine.getToken = (opts) => {
      const heldValid = !opts?.forceRefresh && original.peekToken() !== null;
      const calledAt = server.stamp();
      const result = original.getToken(opts);
      waits.track(`${w.name} getToken`, 'getToken', limitFor(false), result, heldValid);
      result.then(
        (token) => {
          served(w, token, 'getToken');
          const issued = token === null ? undefined : server.issued(token);
          if (heldValid && issued && ledger.birthOf(token!, issued) > calledAt) {
            violate(4, 'getToken', `${w.name} waited on a refresh although it held a valid token`);
          }
        },
        () => {},
      );
      return result;
    };
    engine.restore = () => {
      w.identityChangeAllowed = true;
      const heldValid = original.peekToken() !== null;
      const result = original.restore();
      waits.track(`${w.name} restore`, 'restore', limitFor(true), result, heldValid);
      result.then((token) => served(w, token, 'restore'), () => {});
      return result;
    };
    engine.peekToken = () => {
      const token = original.peekToken();
      served(w, token, 'peekToken');
      return token;
    };
    engine.signIn = (tokens) => {
      const incoming = typeof tokens?.accessToken === 'string' ? server.issued(tokens.accessToken) : undefined;
      const before = heldBy(w);
      w.identityChangeAllowed = true;
      // A refresh token alone names no session until its restore answers: the engine leaves the one it held.
      if (typeof tokens?.accessToken !== 'string') w.endAllowed = true;
      if (incoming?.sessionKey) ledger.started.add(incoming.sessionKey);
      original.signIn(tokens);
      // Only once the engine took the token: a refused sign-in leaves the session as it was.
      // A token under the key held is the same session to the engine, whatever the server's books say.
      const sameKey = incoming?.sessionKey != null && incoming.sessionKey === w.session?.sessionKey;
      if (incoming && before && incoming.session !== before && !sameKey) ledger.kill(before);
      if (incoming) w.held = incoming.session;
    };
    engine.signOut = () => {
      w.endAllowed = true;
      endSession(heldBy(w), true);
      original.signOut();
    };
    engine.rotate = () => {
      w.identityChangeAllowed = true;
      ledger.kill(heldBy(w));
      original.rotate();
    };
    engine.stop = () => {
      w.stopped = true;
      ledger.lastEnd = server.stamp();
      original.stop();
      w.undo.forEach((undo) => undo());
    };
    w.undo.push(() => Object.assign(engine, original));
  }

  function onRequest(request: TokenRequest) {
    const group = groupOf(request);
    if ([...open.keys()].some((other) => groupOf(other) === group)) {
      violate(3, 'request', `${request.client} sent a refresh while another of its group was in flight`);
    }
    open.set(request, timerNow());
    clientsOf.set(group, (clientsOf.get(group) ?? new Set()).add(request.client));
    if (request.refreshToken !== undefined && ledger.spent.has(request.refreshToken)) {
      const session = server.sessionOfRefreshToken(request.refreshToken);
      const sessionLeft = !live().some((w) => heldBy(w) === session);
      violate(7, 'request', `${request.client} sent a refresh token that an answer had already replaced`, { sessionLeft });
    }
  }

  function onSettled(request: TokenRequest) {
    const arrivedAt = open.get(request) ?? timerNow();
    open.delete(request);
    const { outcome } = request;
    const sender = senderOf(request);
    if (outcome?.kind === 'aborted') {
      // A tab's wait for the lock its group shares counts toward its timeout: its attempt began as it began refreshing.
      const sharesLock = (clientsOf.get(groupOf(request))?.size ?? 0) > 1;
      const ranMs = timerNow() - (sharesLock && sender ? Math.min(arrivedAt, sender.busySince) : arrivedAt);
      if (ledger.lastEnd < request.id && ranMs < timeoutMs) {
        violate(7, 'abort', `${request.client} aborted a refresh after ${ranMs} ms, by neither a sign-out, stop() nor the timeout`);
      }
      return;
    }
    const carried = outcome?.kind === 'token' ? outcome.set : outcome?.kind === 'value' ? outcome.value : undefined;
    const rotatedTo = (carried as { refreshToken?: unknown } | null | undefined)?.refreshToken;
    if (request.refreshToken !== undefined && typeof rotatedTo === 'string' && rotatedTo !== request.refreshToken) {
      ledger.spent.add(request.refreshToken);
    }
    const refused = outcome?.kind === 'refused' || (outcome?.kind === 'error' && (outcome.error as { code?: unknown })?.code === 'auth');
    if (refused) {
      const session = ledger.sessionOf(request);
      if (session) ledger.ended.add(session);
      for (const w of sender ? [sender] : live()) w.endAllowed = true;
    }
    if (outcome?.kind === 'token') startsSession(request, outcome.set.accessToken, sender);
  }

  /** A rotation's or a restore's answer, or one of another session (a rotation on the server), starts a session. */
  function startsSession(request: TokenRequest, accessToken: string, sender: Watched | undefined) {
    const issued = server.issued(accessToken);
    if (!issued || issued.order !== request.id) return;
    const askedFor = request.ctx?.session?.sessionKey;
    const otherSession = issued.sessionKey !== null && askedFor !== undefined && issued.sessionKey !== askedFor;
    if (!otherSession && !STARTING_REASONS.has(request.ctx?.reason ?? '')) return;
    // An answer for a session the engine has left since (a sign-in meanwhile) starts nothing: born with its request.
    const current = sender
      ? sender.engine.getSnapshot().session === (request.ctx?.session ?? null)
      : !ledger.endedSince(ledger.sessionOf(request), request);
    if (!current) return;
    if (otherSession) ledger.kill(ledger.sessionOf(request));
    ledger.bornNow(accessToken);
    if (issued.sessionKey !== null) ledger.started.add(issued.sessionKey);
  }

  const unsubscribe = server.subscribe((event: ServerEvent) =>
    event.type === 'request' ? onRequest(event.request) : onSettled(event.request),
  );

  const checker: InvariantChecker = {
    get violations() {
      waits.checkWaiting();
      return violations;
    },
    checkHeldTokenCalls: () => waits.checkHeldTokenCalls(),
    checkHeld: () => live().forEach((w) => checkHeld(w.engine, w.name, server, ledger, violate)),
    watch(engine, name = `engine ${watched.length}`) {
      const w: Watched = {
        name,
        engine,
        held: undefined,
        session: engine.getSnapshot().session,
        identityChangeAllowed: false,
        endAllowed: false,
        stopped: false,
        busySince: timerNow(),
        undo: [],
      };
      watched.push(w);
      wrap(w);
      let status = engine.getSnapshot().status;
      const unsubscribeStatus = engine.subscribe((snapshot) => {
        if (snapshot.status === status) return;
        if (IDLE_STATUSES.has(status)) w.busySince = timerNow();
        status = snapshot.status;
      });
      const sessions = engine.session$.subscribe((session) => sessionChanged(w, session));
      const tokens = engine.token$.subscribe((token) => served(w, token, 'token$'));
      w.undo.push(() => sessions.unsubscribe(), () => tokens.unsubscribe(), unsubscribeStatus);
    },
    sessionEndedElsewhere(how) {
      for (const w of live()) {
        if (how === 'signOut') w.endAllowed = true;
        else w.identityChangeAllowed = true;
        endSession(heldBy(w), how === 'signOut');
      }
    },
    sessionStartedElsewhere(sessionKey) {
      ledger.started.add(sessionKey);
    },
    judge(accessToken) {
      const issued = server.issued(accessToken);
      return { issued: issued !== undefined, dead: issued !== undefined && ledger.isDead(accessToken, issued), sessionKey: issued?.sessionKey ?? null };
    },
    stop() {
      unsubscribe();
      for (const w of live()) w.undo.splice(0).forEach((undo) => undo());
    },
  };
  for (const engine of Array.isArray(engines) ? engines : [engines as SessionEngine]) checker.watch(engine);
  return checker;
}
