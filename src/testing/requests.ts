import type { RefreshContext, TokenSet } from '../types.js';
import type { Fault, IssueOptions, Outcome, RefreshCall, RequestState } from './types.js';

/** What a request needs of its server: to be processed by the rules, answered with a minted token, settled. */
export interface Desk {
  proceed(request: ServerRequest): void;
  mintFor(request: ServerRequest, options: IssueOptions): TokenSet;
  settle(request: ServerRequest, outcome: Exclude<Outcome, { kind: 'aborted' }>): void;
}

const FAULT_KINDS = new Set(['down', '5xx', '429', 'slow', 'hang', 'garbage']);
const isFault = (value: unknown): value is Fault =>
  typeof value === 'object' && value !== null && !(value instanceof Error) && FAULT_KINDS.has((value as Fault).kind);

/** One request: its record, and the handles a test settles it with. `ctx` is set for requests made in process. */
export class ServerRequest implements RefreshCall {
  state: RequestState = 'sent';
  outcome: Outcome | undefined;
  delivered = false;

  constructor(
    readonly id: number,
    readonly client: string,
    readonly refreshToken: string | undefined,
    readonly at: number,
    readonly signal: AbortSignal,
    readonly ctx: RefreshContext,
    private readonly desk: Desk,
    /** Hands a settled outcome to the client (not called once it gave up). */
    readonly deliver: (outcome: Exclude<Outcome, { kind: 'aborted' }>) => void,
  ) {}

  get settled(): boolean {
    return this.state === 'settled';
  }

  release(): void {
    if (this.state === 'held') this.desk.proceed(this);
  }

  respond(options: IssueOptions = {}): TokenSet {
    if (this.delivered) throw new Error(`request ${this.id} has been answered already`);
    // A late answer to a request the client gave up on is still minted: the server did process it.
    const set = this.desk.mintFor(this, options);
    if (!this.settled) this.desk.settle(this, { kind: 'token', set });
    return set;
  }

  fail(error: Fault | Error = { kind: 'down' }): void {
    if (!this.settled) this.desk.settle(this, isFault(error) ? { kind: 'fault', fault: error } : { kind: 'error', error });
  }

  resolve(value: unknown): void {
    if (!this.settled) this.desk.settle(this, { kind: 'value', value });
  }
}
