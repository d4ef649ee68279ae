import { randomBytes } from 'node:crypto';
import type { RefreshContext, RefreshFunction, TokenSet } from '../types.js';
import { decodeClaims, isSignedWith, signJwt } from './jwt.js';
import { replyOf, settleInProcess } from './replies.js';
import { ServerRequest, type Desk } from './requests.js';
import { SessionBook, type Session } from './sessions.js';
import type {
  Fault,
  IssuedToken,
  IssueOptions,
  Outcome,
  ServerEvent,
  TokenReply,
  TokenRequest,
  TokenServer,
  TokenServerCounters,
  TokenServerOptions,
} from './types.js';

const newCounters = (): TokenServerCounters => ({
  requests: 0,
  granted: 0,
  refused: 0,
  replays: 0,
  faults: 0,
  aborted: 0,
  signIns: 0,
  inFlight: 0,
  maxInFlight: 0,
  earlyRetries: 0,
  earlyRetryMaxMs: 0,
});

type Settled = Exclude<Outcome, { kind: 'aborted' }>;
type Arrival = { client: string; refreshToken: string | undefined; signal: AbortSignal; ctx?: RefreshContext };

/** A fake auth server in memory: HS256 JWTs on its own clock, rotating refresh tokens, faults on demand. */
export function createTokenServer(options: TokenServerOptions = {}): TokenServer {
  const clock = options.clock ?? Date.now;
  const secret = options.secret ?? randomBytes(32).toString('base64url');
  const serverId = randomBytes(4).toString('hex');
  const subject = options.subject ?? 'user-1';
  const remember = options.remember ?? Number.POSITIVE_INFINITY;
  const rememberRequests = options.rememberRequests ?? remember;
  const book = new SessionBook(remember);
  const tokens = new Map<string, IssuedToken>();
  const requests: ServerRequest[] = [];
  const counters = newCounters();
  const listeners = new Set<(event: ServerEvent) => void>();
  const queuedFaults: Fault[] = [];
  const hanging = new Set<ServerRequest>();
  const holdWaiters: Array<(request: TokenRequest) => void> = [];
  const arrivalWaiters: Array<(request: TokenRequest) => void> = [];
  let holding = false;
  let standingFault: Fault | null = null;
  let order = 0;
  let minted = 0;
  let sessionsStarted = 0;
  let retryNotBefore = Number.NEGATIVE_INFINITY;

  const emit = (event: ServerEvent) => listeners.forEach((listener) => listener(event));
  const newRefreshToken = () => `rt-${randomBytes(18).toString('base64url')}`;
  const newSid = () => `sid-${serverId}-${(sessionsStarted += 1)}`;
  const drawLatency = () => (typeof server.latencyMs === 'function' ? server.latencyMs() : server.latencyMs);

  function forgetOldest<K, V>(map: Map<K, V>) {
    if (map.size > remember) map.delete(map.keys().next().value as K);
  }

  /** Mints a token set of `session`; `request`: the request it answers (its lineage starts there). */
  function mint(session: Session, issue: IssueOptions, request?: ServerRequest): TokenSet {
    const lifeSeconds = issue.lifeSeconds ?? server.lifeSeconds;
    const local = clock();
    const ageMs = (issue.ageSeconds ?? 0) * 1000;
    const iat = Math.floor((local + (issue.skewMs ?? server.skewMs) - ageMs) / 1000);
    const sid = issue.sid === null ? null : (issue.sid ?? session.sid);
    const sub = issue.sub ?? session.sub;
    minted += 1;
    const accessToken = issue.opaque
      ? `opaque-${serverId}-${minted}`
      : signJwt({ sub, ...(sid === null ? {} : { sid }), iat, exp: iat + lifeSeconds, jti: `${serverId}-${minted}` }, secret);
    const refreshToken =
      issue.refreshToken === false
        ? undefined
        : (issue.refreshToken ?? (options.refreshTokens === 'omit' ? undefined : newRefreshToken()));
    if (refreshToken !== undefined) book.hand(session, refreshToken, local);
    const issuedAt = local + server.skewMs - ageMs;
    const expiresAt = issue.opaque && issue.expiresAt !== undefined ? issue.expiresAt + server.skewMs : issuedAt + lifeSeconds * 1000;
    const opaqueKey = typeof issue.sid === 'string' ? issue.sid : null;
    tokens.set(accessToken, {
      sessionKey: issue.opaque ? opaqueKey : (sid ?? sub),
      session,
      issuedAt,
      expiresAt,
      order: request?.id ?? (order += 1),
    });
    forgetOldest(tokens);
    const expiry = issue.expiresAt !== undefined ? { expiresAt: issue.expiresAt } : { expiresIn: lifeSeconds };
    return {
      accessToken,
      ...(refreshToken === undefined ? {} : { refreshToken }),
      ...(issue.opaque ? { ...expiry, ...(opaqueKey === null ? {} : { sessionKey: opaqueKey }) } : {}),
    };
  }

  /** The session a token set of `sid` belongs to: its own, the request's (rotated to `sid`), or a new one of `sub`. */
  function sessionFor(sid: string | null | undefined, requestSession?: Session, sub = subject): Session {
    if (typeof sid === 'string') {
      const known = book.find(sid);
      if (known) return known;
      if (requestSession) {
        book.rekey(requestSession, sid);
        return requestSession;
      }
      return book.start(sid, sub);
    }
    return requestSession ?? book.start(newSid(), sub);
  }

  /** The server's rules: the reuse rule judges the refresh token; a granted one is answered with a new token set. */
  function judge(request: ServerRequest): Settled {
    const verdict = book.judge(request.refreshToken, clock(), options.reuseGraceMs ?? 0);
    if (verdict.replay) counters.replays += 1;
    if (!verdict.granted) return { kind: 'refused' };
    // A replay inside the grace window is answered with the current refresh token: nothing rotates.
    const keep = verdict.replay ? { refreshToken: verdict.session.current ?? (false as const) } : {};
    return { kind: 'token', set: mint(verdict.session, keep, request) };
  }

  const desk: Desk = {
    proceed(request) {
      const fault = queuedFaults.shift() ?? standingFault ?? options.faultAt?.(clock()) ?? null;
      if (fault?.kind === 'hang') {
        request.state = 'hanging';
        // Only a standing hang is ever lifted; a queued one lasts until the client gives up.
        if (fault === standingFault) hanging.add(request);
        return;
      }
      request.state = 'sent';
      if (fault?.kind === 'down') return later(request, fault.afterMs ?? 0, { kind: 'fault', fault });
      if (fault !== null && fault.kind !== 'slow') return later(request, drawLatency(), { kind: 'fault', fault });
      const outcome = judge(request);
      later(request, fault?.kind === 'slow' ? fault.latencyMs : drawLatency(), outcome);
    },
    mintFor(request, issue) {
      const requestSession = book.holding(request.refreshToken) ?? (request.ctx?.session ? book.find(request.ctx.session.sessionKey) : undefined);
      return mint(sessionFor(issue.sid, requestSession), issue, request);
    },
    settle(request, outcome) {
      if (request.settled) return;
      hanging.delete(request);
      request.state = 'settled';
      request.outcome = outcome;
      request.delivered = true;
      counters.inFlight -= 1;
      if (outcome.kind === 'token') counters.granted += 1;
      else if (outcome.kind === 'refused') counters.refused += 1;
      else if (outcome.kind === 'fault') counters.faults += 1;
      if (outcome.kind === 'fault' && outcome.fault.kind === '429') retryNotBefore = clock() + outcome.fault.retryAfterSeconds * 1000;
      request.deliver(outcome);
      emit({ type: 'settled', request });
    },
  };

  function later(request: ServerRequest, ms: number, outcome: Settled) {
    if (ms <= 0) return desk.settle(request, outcome);
    setTimeout(() => desk.settle(request, outcome), ms);
  }

  function abort(request: ServerRequest) {
    if (request.settled) return;
    hanging.delete(request);
    request.state = 'settled';
    request.outcome = { kind: 'aborted' };
    counters.inFlight -= 1;
    counters.aborted += 1;
    emit({ type: 'settled', request });
  }

  function receive(arrival: Arrival, deliver: ServerRequest['deliver']): ServerRequest {
    const at = clock();
    const ctx = arrival.ctx ?? (undefined as unknown as RefreshContext);
    const request = new ServerRequest((order += 1), arrival.client, arrival.refreshToken, at, arrival.signal, ctx, desk, deliver);
    counters.requests += 1;
    counters.inFlight += 1;
    counters.maxInFlight = Math.max(counters.maxInFlight, counters.inFlight);
    if (at < retryNotBefore) {
      counters.earlyRetries += 1;
      counters.earlyRetryMaxMs = Math.max(counters.earlyRetryMaxMs, retryNotBefore - at);
    }
    requests.push(request);
    if (requests.length > rememberRequests) requests.shift();
    const heldNext = holdWaiters.shift();
    request.state = holding || heldNext ? 'held' : 'sent';
    emit({ type: 'request', request });
    arrivalWaiters.splice(0).forEach((resolve) => resolve(request));
    heldNext?.(request);
    if (arrival.signal.aborted) abort(request);
    else arrival.signal.addEventListener('abort', () => abort(request), { once: true });
    if (request.state === 'sent') desk.proceed(request);
    return request;
  }

  const refreshFor = (client: string): RefreshFunction => (ctx) =>
    new Promise<TokenSet>((resolve, reject) => {
      ctx.signal.addEventListener('abort', () => reject(new DOMException('The refresh was aborted', 'AbortError')), { once: true });
      receive({ client, refreshToken: ctx.refreshToken, signal: ctx.signal, ctx }, (outcome) => {
        try {
          resolve(settleInProcess(outcome));
        } catch (error) {
          reject(error);
        }
      });
    });

  const server: TokenServer = {
    refresh: refreshFor('default'),
    refreshFor,
    exchange: (refreshToken, { signal = new AbortController().signal, client = 'http' } = {}) =>
      new Promise<TokenReply>((resolve, reject) => {
        receive({ client, refreshToken, signal }, (outcome) => {
          try {
            resolve(replyOf(outcome, server.lifeSeconds));
          } catch (error) {
            reject(error);
          }
        });
      }),
    signIn(issue = {}) {
      counters.signIns += 1;
      return mint(sessionFor(issue.sid === null ? undefined : issue.sid, undefined, issue.sub), issue);
    },
    now: () => clock() + server.skewMs,
    lifeSeconds: options.lifeSeconds ?? 60,
    skewMs: options.skewMs ?? 0,
    latencyMs: options.latencyMs ?? 0,
    get fault() {
      return standingFault;
    },
    set fault(fault) {
      standingFault = fault;
      if (fault?.kind === 'hang') return;
      const released = [...hanging];
      hanging.clear();
      released.forEach((request) => desk.proceed(request));
    },
    failNext(fault, count = 1) {
      for (let i = 0; i < count; i += 1) queuedFaults.push(fault);
    },
    holdRequests(on = true) {
      holding = on;
    },
    holdNext: () => new Promise((resolve) => holdWaiters.push(resolve)),
    nextRequest: () => new Promise((resolve) => arrivalWaiters.push(resolve)),
    rotateSession(sid) {
      const session = book.find(sid);
      if (!session) throw new Error(`the token server has no session ${sid}`);
      const next = newSid();
      book.rekey(session, next);
      return next;
    },
    revoke(sid) {
      const session = book.find(sid);
      if (session) session.revoked = true;
    },
    verify(accessToken, at = server.now()) {
      const claims = accessToken === null ? null : decodeClaims(accessToken);
      if (accessToken === null || claims === null) return { ok: false, reason: 'malformed' };
      if (!isSignedWith(accessToken, secret)) return { ok: false, reason: 'bad_signature' };
      const known = tokens.get(accessToken);
      if (!known) return { ok: false, reason: 'unknown' };
      if (known.session.revoked) return { ok: false, reason: 'revoked' };
      const { sid, sub, jti, exp } = claims as { sid?: string; sub: string; jti: string; exp: number };
      if (at >= exp * 1000) return { ok: false, reason: 'expired' };
      return { ok: true, sid: sid ?? null, sub, jti, exp };
    },
    issued: (accessToken) => tokens.get(accessToken),
    session: (sid) => book.find(sid),
    sessionOfRefreshToken: (refreshToken) => book.holding(refreshToken),
    requests,
    inFlight: () => requests.filter((request) => !request.settled),
    counters,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stamp: () => (order += 1),
  };
  return server;
}
