/** Times as people read them on a live page: relative to now, ticking; the clock time in a tooltip. */
import { useEffect, useState } from 'react';

/** Re-renders every `intervalMs` and returns Date.now(), read at each render (so any render is exact). */
export function useNow(intervalMs: number): number {
  const [, setTick] = useState(0);
  useEffect(() => {
    const id = setInterval(() => setTick((tick) => tick + 1), intervalMs);
    return () => clearInterval(id);
  }, [intervalMs]);
  return Date.now();
}

export function timeAgo(at: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  if (seconds < 2) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes} min ago` : `${Math.floor(minutes / 60)} h ${minutes % 60} min ago`;
}

export function TimeAgo({ at, now }: { at: number; now: number }) {
  return (
    <time dateTime={new Date(at).toISOString()} title={new Date(at).toLocaleTimeString()} style={{ fontVariantNumeric: 'tabular-nums' }}>
      {timeAgo(at, now)}
    </time>
  );
}
