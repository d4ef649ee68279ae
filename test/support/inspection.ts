/** Reading inspection output as an inspector gets it (JSON texts), for the redaction tests. */
import type { RedactedToken } from '../../src/inspect/index.js';

/** JSON of anything: a value met again (cycles included) was written in full where it was first met. */
export function safeJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, field: unknown) => {
    if (typeof field !== 'object' || field === null) return field;
    if (seen.has(field)) return '[seen]';
    seen.add(field);
    return field;
  });
}

/** Every 20-character piece of a secret that the texts contain: a token shown whole or in part. */
export function leaksIn(texts: string[], secrets: string[]): string[] {
  const all = texts.join('\n');
  const pieces = new Set<string>();
  for (const secret of secrets) {
    for (let i = 0; i + 20 <= secret.length; i += 1) pieces.add(secret.slice(i, i + 20));
  }
  return [...pieces].filter((piece) => all.includes(piece));
}

/** Every description that stands in for a token, anywhere in `value`. */
export function descriptionsIn(value: unknown): RedactedToken[] {
  if (typeof value !== 'object' || value === null) return [];
  if ((value as { redacted?: unknown }).redacted === 'token') return [value as RedactedToken];
  return Object.values(value).flatMap(descriptionsIn);
}

/** A state value as a dotted path: `{ offline: { backingOff: 'open' } }` is `offline.backingOff.open`. */
const pathOf = (value: unknown): string =>
  typeof value === 'string' ? value : Object.entries(value as object).map(([key, child]) => `${key}.${pathOf(child)}`).join();

interface InspectionText {
  type?: string;
  snapshot?: { value?: unknown };
  event?: { type?: unknown };
}

const parsed = (texts: string[]) => texts.map((text) => JSON.parse(text) as InspectionText);

/** The states of every machine the texts show a snapshot of, as dotted paths. */
export const statesIn = (texts: string[]): Set<string> =>
  new Set(parsed(texts).flatMap((e) => (e.type === '@xstate.snapshot' && e.snapshot?.value !== undefined ? [pathOf(e.snapshot.value)] : [])));

/** The types of the events the actors were sent. */
export const eventTypesIn = (texts: string[]): Set<string> =>
  new Set(parsed(texts).flatMap((e) => (e.type === '@xstate.event' && typeof e.event?.type === 'string' ? [e.event.type] : [])));
