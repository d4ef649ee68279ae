import type { SessionEngine } from '../engine/engine.js';
import type { Ledger } from './ledger.js';
import type { TokenServer, Violation } from './types.js';

type Violate = (invariant: Violation['invariant'], event: string, message: string) => void;

/** Invariants 2 and 6 on what an engine holds (its actor's context), served or not; an engine with no actor is skipped. */
export function checkHeld(engine: SessionEngine, name: string, server: TokenServer, ledger: Ledger, violate: Violate): void {
  const snapshot = (engine.actor as SessionEngine['actor'] | undefined)?.getSnapshot();
  if (!snapshot) return;
  const { session, token, refreshToken } = snapshot.context;
  if (snapshot.matches('signedOut') && (session !== null || token !== null || refreshToken !== undefined)) {
    violate(2, 'held', `${name} is signed out but still holds its session, token or refresh token`);
  }
  if (!token) return;
  const issued = server.issued(token.accessToken);
  if (!issued) violate(2, 'held', `${name} holds a token the server never issued`);
  else if (ledger.isDead(token.accessToken, issued)) violate(2, 'held', `${name} holds a token of an ended or rotated-away session`);
  else if (issued.sessionKey !== null && issued.sessionKey !== session?.sessionKey) {
    violate(6, 'held', `${name} holds a token of ${issued.sessionKey} as session ${session?.sessionKey ?? 'none'}`);
  }
}
