/**
 * The caller's request, taken apart the way `fetch` itself reads it: whose Authorization header it carries,
 * which signal aborts it, and a copy of it for each attempt with a bearer token set.
 */

/** `fetch`'s own signature: what `createAuthFetch` takes and returns. */
export type Fetch = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

/** The arguments of one send, for one token. */
export type Attempt = (token: string) => Parameters<Fetch>;

/** `init` wins over a `Request` input, as in `new Request(input, init)`. */
function fromInitOrRequest<K extends 'headers' | 'signal'>(input: RequestInfo | URL, init: RequestInit | undefined, key: K) {
  if (init?.[key] !== undefined) return init[key];
  return input instanceof Request ? input[key] : undefined;
}

export const hasOwnAuthorization = (input: RequestInfo | URL, init?: RequestInit): boolean =>
  new Headers(fromInitOrRequest(input, init, 'headers')).has('authorization');

export const signalOf = (input: RequestInfo | URL, init?: RequestInit): AbortSignal | null | undefined =>
  fromInitOrRequest(input, init, 'signal');

/** The bodies `fetch` reads afresh on every send; a stream (or anything else) is read once, by the first. */
function canSendTwice(body: BodyInit | null | undefined): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof URLSearchParams ||
    body instanceof FormData ||
    body instanceof Blob ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body)
  );
}

function withBearer(headers: HeadersInit | undefined, token: string): Headers {
  const result = new Headers(headers);
  result.set('authorization', `Bearer ${token}`);
  return result;
}

const requestWithBearer =
  (request: Request): Attempt =>
  (token) => [request, { headers: withBearer(request.headers, token) }];

/** The first send, and a retry when the body can be sent again (`null` when it cannot). */
export function attemptsOf(input: RequestInfo | URL, init?: RequestInit): { first: Attempt; retry: Attempt | null } {
  const replayable = canSendTwice(init?.body);
  if (input instanceof Request) {
    const request = init === undefined ? input : new Request(input, init);
    // A Request's body can be read once: the retry's copy is taken before the first send reads it.
    const spare = replayable ? request.clone() : null;
    return { first: requestWithBearer(request), retry: spare && requestWithBearer(spare) };
  }
  const attempt: Attempt = (token) => [input, { ...init, headers: withBearer(init?.headers, token) }];
  return { first: attempt, retry: replayable ? attempt : null };
}

/** `promise`, unless `signal` aborts first: then its reason, as `fetch` rejects. `promise` itself runs on. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | null | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    if (signal.aborted) abort();
    signal.addEventListener('abort', abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}
