/** Where the project's tests start their fake clocks: a whole second, so `iat` (whole seconds) and the local clock agree. */
export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

/** Node's own `setImmediate`, taken before any test fakes it. */
const nextTurn = globalThis.setImmediate;

/**
 * Lets every pending promise callback run (the engine's, XState's, RxJS's), however long the chain, without moving
 * a fake clock or firing a fake timer: waits `rounds` turns of Node's event loop.
 */
export async function flushPromises(rounds = 1): Promise<void> {
  for (let i = 0; i < rounds; i += 1) await new Promise<void>((resolve) => nextTurn(resolve));
}
