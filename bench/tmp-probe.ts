import { herdCostMs } from './micro.js';
await herdCostMs(1000);
for (const n of [250, 1000, 2500, 10000, 20000]) {
  const runs = [];
  for (let i = 0; i < 3; i++) { (globalThis as any).gc?.(); runs.push(await herdCostMs(n)); }
  console.log(n, runs.map((r) => (r * 1000 / n).toFixed(1)).join(' '), 'µs/caller');
}
