import type { Violation } from './types.js';

type Violate = (invariant: Violation['invariant'], event: string, message: string) => void;

interface Wait {
  readonly event: 'getToken' | 'restore';
  readonly label: string;
  readonly startedAt: number;
  readonly limitMs: number;
  reported: boolean;
}

/** A call made while a valid token was held: it must settle without waiting, with a token (invariant 4). */
interface HeldTokenCall {
  readonly event: Wait['event'];
  readonly label: string;
  settled: boolean;
}

/** The callers an invariant checker watches wait for: how long (invariant 8), and whether they had to (4). */
export class Waits {
  private readonly waits: Wait[] = [];
  private readonly heldTokenCalls: HeldTokenCall[] = [];

  constructor(
    private readonly timerNow: () => number,
    private readonly violate: Violate,
  ) {}

  /** A caller waits on `result`; `heldValid`: a valid token was held when it called. */
  track(label: string, event: Wait['event'], limitMs: number, result: Promise<unknown>, heldValid: boolean): void {
    const wait: Wait = { event, label, startedAt: this.timerNow(), limitMs, reported: false };
    this.waits.push(wait);
    const call: HeldTokenCall = { event, label, settled: false };
    if (heldValid) this.heldTokenCalls.push(call);
    const done = (value: unknown) => {
      this.waits.splice(this.waits.indexOf(wait), 1);
      const waited = this.timerNow() - wait.startedAt;
      if (!wait.reported && waited > limitMs) this.violate(8, event, `${label} settled after waiting ${waited} ms`);
      call.settled = true;
      // Answered with a token: nothing left to judge.
      if (heldValid && typeof value === 'string') this.heldTokenCalls.splice(this.heldTokenCalls.indexOf(call), 1);
    };
    result.then(done, () => done(undefined));
  }

  /** Invariant 8 on the callers still waiting. */
  checkWaiting(): void {
    for (const wait of this.waits) {
      const waited = this.timerNow() - wait.startedAt;
      if (wait.reported || waited <= wait.limitMs) continue;
      wait.reported = true;
      this.violate(8, wait.event, `${wait.label} has waited ${waited} ms`);
    }
  }

  /** Invariant 4: every call made while a valid token was held has settled by now, with a token. */
  checkHeldTokenCalls(): void {
    for (const call of this.heldTokenCalls.splice(0)) {
      const what = call.settled ? 'did not answer with it' : 'did not settle without waiting';
      this.violate(4, call.event, `${call.label} held a valid token and ${what}`);
    }
  }
}
