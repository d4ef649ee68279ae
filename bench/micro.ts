/**
 * Hot path: one held token, asked for over and over, in one process and one run so the ratios compare
 * like with like. Each task runs its operation in a batch (sub-microsecond work is below the timer's
 * resolution); ops/s are per operation.
 */
import { Bench } from 'tinybench';
import { createSessionEngine } from '../src/index.js';
import { signJwt, type TokenResponseBody } from '../src/testing/index.js';
import { firebaseWithUser } from './firebase.js';
import { supabaseWithSession } from './supabase.js';

export interface HotPathRow {
  name: string;
  opsPerSecond: number;
  /** Relative margin of error, %. */
  rme: number;
}

/** The rows of the hot-path table, by role. */
export const ROW = {
  map: 'Map.get (floor)',
  clock: 'Date.now() (clock floor)',
  peek: 'sessionchart peekToken()',
  get: 'sessionchart getToken()',
  naive: 'naive cache getToken()',
  supabase: 'Supabase auth-js getSession()',
  firebase: 'Firebase Auth getIdToken()',
} as const;

const SYNC_BATCH = 1_000;
const ROUNDS = 3;
const ASYNC_BATCH = 100;
let sink: unknown;

let minted = 0;
/** A new token each call: two minted in the same second still differ (an answer equal to the held token is no new token). */
function heldToken(lifeS = 3_600) {
  const iat = Math.floor(Date.now() / 1000);
  const jti = (minted += 1);
  return { accessToken: signJwt({ sub: 'user-1', session_id: 's1', iat, exp: iat + lifeS, jti }), iat, exp: iat + lifeS };
}

/** The held token as the peers' token endpoints would have handed it out. */
const bodyOf = (token: ReturnType<typeof heldToken>): TokenResponseBody => ({
  access_token: token.accessToken,
  token_type: 'Bearer',
  expires_in: token.exp - token.iat,
  refresh_token: 's1.0',
});

export async function runHotPath(timeMs = 400): Promise<HotPathRow[]> {
  const token = heldToken();
  const map = new Map([['token', token.accessToken]]);
  const noRefresh = () => Promise.reject(new Error('the hot path makes no request'));
  const engine = createSessionEngine({ refresh: noRefresh });
  engine.signIn({ accessToken: token.accessToken, refreshToken: 's1.0' });
  const supabase = await supabaseWithSession(bodyOf(token));
  const naive = { token: token.accessToken, expiresAt: token.exp * 1000 };
  const naiveGet = async () => (Date.now() < naive.expiresAt ? naive.token : null);
  if (engine.peekToken() !== token.accessToken || (await engine.getToken()) !== token.accessToken) {
    throw new Error('sessionchart does not hold the token');
  }
  if ((await supabase.getSession()).data.session?.access_token !== token.accessToken) {
    throw new Error('Supabase does not hold the session');
  }
  const firebase = await firebaseWithUser(bodyOf(token));
  if ((await firebase.user.getIdToken()) !== token.accessToken) throw new Error('Firebase does not hold the token');

  const bench = new Bench({ time: timeMs, warmupTime: 200 });
  const batches = new Map<string, number>();
  const sync = (name: string, op: () => unknown) => {
    batches.set(name, SYNC_BATCH);
    bench.add(name, () => {
      for (let i = 0; i < SYNC_BATCH; i += 1) sink = op();
    });
  };
  const async = (name: string, op: () => Promise<unknown>) => {
    batches.set(name, ASYNC_BATCH);
    bench.add(name, async () => {
      for (let i = 0; i < ASYNC_BATCH; i += 1) sink = await op();
    });
  };
  sync(ROW.map, () => map.get('token'));
  // Every engine must read the clock to know its token is still valid: this is the floor of any peek.
  sync(ROW.clock, () => Date.now());
  sync(ROW.peek, () => engine.peekToken());
  async(ROW.get, () => engine.getToken());
  async(ROW.naive, naiveGet);
  async(ROW.supabase, () => supabase.getSession());
  async(ROW.firebase, () => firebase.user.getIdToken());
  // Each task's best of a few rounds: another process taking the CPU only ever makes a round slower.
  const best = new Map<string, HotPathRow>();
  for (let round = 0; round < ROUNDS; round += 1) {
    await bench.run();
    for (const task of bench.tasks) {
      const { throughput } = task.result as unknown as { throughput: { mean: number; rme: number } };
      const row = { name: task.name, opsPerSecond: throughput.mean * batches.get(task.name)!, rme: throughput.rme };
      if (row.opsPerSecond > (best.get(task.name)?.opsPerSecond ?? 0)) best.set(task.name, row);
    }
  }
  engine.stop();
  await firebase.close();
  void sink;
  return [...best.values()];
}

/**
 * Cost of a herd: `count` getToken calls arriving while one refresh is in flight, until all have settled.
 * Real timers; the refresh answers after every call has been made. Measured in CPU time of this process
 * (not wall time), so other processes on the machine do not show.
 */
export async function herdCostMs(count: number): Promise<number> {
  let answer: (set: { accessToken: string }) => void = () => {};
  const engine = createSessionEngine({ refresh: () => new Promise((resolve) => (answer = resolve)) });
  // A token that expires at once: the engine is refreshing before the first call arrives.
  engine.signIn({ accessToken: heldToken(60).accessToken, expiresAt: Date.now() + 20 });
  await new Promise((resolve) => setTimeout(resolve, 40));
  if (engine.getSnapshot().status !== 'refreshing') throw new Error('the herd must meet a refresh in flight');
  const started = process.cpuUsage();
  const calls = Array.from({ length: count }, () => engine.getToken());
  answer({ accessToken: heldToken(60).accessToken });
  await Promise.all(calls);
  const used = process.cpuUsage(started);
  engine.stop();
  return (used.user + used.system) / 1000;
}

/** Herd costs per size, the best of three (a collection or another process only ever adds), after one unrecorded herd that warms the JIT up. */
export async function herdCosts(sizes: number[]): Promise<Array<{ callers: number; ms: number }>> {
  await herdCostMs(sizes[0]!);
  const costs: Array<{ callers: number; ms: number }> = [];
  for (const callers of sizes) {
    const runs = [await herdCostMs(callers), await herdCostMs(callers), await herdCostMs(callers)];
    costs.push({ callers, ms: Math.min(...runs) });
  }
  return costs;
}
