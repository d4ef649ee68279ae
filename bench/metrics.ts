/** Fixed-size counters, so the simulator's own memory stays flat and the heap measure is the engine's. */
import { DAY_START } from './schedule.js';

/** Log-spaced buckets (2% apart) from 1 ms; quantiles are accurate to about 2%. */
export class Histogram {
  private static readonly RATIO = Math.log(1.02);
  private readonly buckets = new Float64Array(1_000);
  count = 0;
  max = 0;

  add(ms: number): void {
    const index = Math.min(this.buckets.length - 1, Math.floor(Math.log(Math.max(ms, 1)) / Histogram.RATIO));
    this.buckets[index]! += 1;
    this.count += 1;
    this.max = Math.max(this.max, ms);
  }

  quantile(q: number): number {
    if (this.count === 0) return 0;
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i += 1) {
      seen += this.buckets[i]!;
      if (seen >= q * this.count) return Math.min(this.max, Math.exp((i + 0.5) * Histogram.RATIO));
    }
    return this.max;
  }
}

export const BUCKET_MS = 15 * 60_000;

/** A timeline's counts, as they travel from a worker process to the report. */
export interface TimelineData {
  requests: Int32Array;
  waited: Int32Array;
}

/** Per 15-minute bucket of local time: refresh requests sent and callers that waited. */
export class Timeline implements TimelineData {
  readonly requests: Int32Array;
  readonly waited: Int32Array;

  constructor(durationMs: number) {
    const buckets = Math.ceil(durationMs / BUCKET_MS);
    this.requests = new Int32Array(buckets);
    this.waited = new Int32Array(buckets);
  }

  private bucketOf(at: number): number {
    return Math.max(0, Math.min(this.requests.length - 1, Math.floor((at - DAY_START) / BUCKET_MS)));
  }

  request(at: number): void {
    this.requests[this.bucketOf(at)]! += 1;
  }

  wait(at: number): void {
    this.waited[this.bucketOf(at)]! += 1;
  }

  data(): TimelineData {
    return { requests: this.requests, waited: this.waited };
  }
}
