import { vi } from 'vitest';
import type { SessionEngine } from '../../src/index.js';

/** Ways a user drives an engine that the property test mixes in: listeners that throw, use after stop. */

export type ListenerKind = 'subscribe' | 'session$' | 'token$';

const thrower = () => {
  throw new Error('a listener that throws');
};

/** A listener of the given kind that throws on every call: its errors must go to `onError`, nowhere else. */
export function listenerThatThrows(engine: SessionEngine, kind: ListenerKind): void {
  if (kind === 'subscribe') engine.subscribe(thrower);
  else if (kind === 'session$') engine.session$.subscribe(thrower);
  else engine.token$.subscribe({ next: thrower });
}

const codeOf = (error: unknown) => (error as { code?: unknown } | null)?.code;

function throwsAborted(run: () => unknown): boolean {
  try {
    run();
    return false;
  } catch (error) {
    return codeOf(error) === 'aborted';
  }
}

/**
 * A stopped engine: `getToken` rejects and `signIn`/`rotate` throw with `AbortError`, `peekToken` is null, and
 * nothing is sent to the server or written to the console. Returns what went wrong.
 */
export async function afterStop(engine: SessionEngine, callsAtStop: number, calls: () => number): Promise<string[]> {
  const problems: string[] = [];
  const console$ = (['log', 'info', 'warn', 'error', 'debug'] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation(() => {}),
  );
  try {
    const rejected = await engine.getToken().then(
      () => 'resolved',
      (error: unknown) => codeOf(error),
    );
    if (rejected !== 'aborted') problems.push(`getToken after stop: ${String(rejected)}`);
    const forced = await engine.getToken({ forceRefresh: true }).then(
      () => 'resolved',
      (error: unknown) => codeOf(error),
    );
    if (forced !== 'aborted') problems.push(`getToken({ forceRefresh }) after stop: ${String(forced)}`);
    if (!throwsAborted(() => engine.signIn({ accessToken: 'opaque-after-stop', expiresIn: 60 }))) {
      problems.push('signIn after stop did not throw AbortError');
    }
    if (!throwsAborted(() => engine.rotate())) problems.push('rotate after stop did not throw AbortError');
    engine.signOut();
    if (engine.peekToken() !== null) problems.push('peekToken after stop is not null');
    if (calls() !== callsAtStop) problems.push('a refresh was sent after stop');
    const logged = console$.filter((spy) => spy.mock.calls.length > 0).length;
    if (logged > 0) problems.push('the console was written to after stop');
  } finally {
    console$.forEach((spy) => spy.mockRestore());
  }
  return problems;
}
