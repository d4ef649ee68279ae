/**
 * The chart in a scrollable viewport with three views (see framing.ts): follow (the default), actual size and
 * the whole chart. In the first two the viewport scrolls to the active states whenever they change.
 */
import { useEffect, useLayoutEffect, useRef, useState, type CSSProperties, type RefObject } from 'react';
import { ChartSvg } from './ChartSvg.js';
import { frameChart, type ChartView, type Size } from './framing.js';
import type { ChartLayout } from './graph.js';

const VIEWS: Array<{ view: ChartView; label: string; hint: string }> = [
  { view: 'follow', label: 'Follow', hint: 'Readable, keeps the active state in view' },
  { view: 'actual', label: 'Actual size', hint: 'The chart at 100 %, centred on the active state' },
  { view: 'whole', label: 'Whole chart', hint: 'Every state at once' },
];

/** The viewport's inner size, kept up to date; null until the browser has laid it out (never in jsdom). */
function useInnerSize(ref: RefObject<HTMLElement | null>): Size | null {
  const [size, setSize] = useState<Size | null>(null);
  useLayoutEffect(() => {
    const element = ref.current;
    if (!element || typeof ResizeObserver === 'undefined') return;
    const measure = () =>
      setSize((last) =>
        last?.width === element.clientWidth && last.height === element.clientHeight
          ? last
          : { width: element.clientWidth, height: element.clientHeight },
      );
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, [ref]);
  return size && size.width > 0 && size.height > 0 ? size : null;
}

const prefersReducedMotion = () => window.matchMedia?.('(prefers-reduced-motion: reduce)').matches ?? false;

export interface ChartViewportProps {
  layout: ChartLayout;
  active: ReadonlySet<string>;
  lastTransitions: ReadonlySet<string>;
  height: CSSProperties['height'];
}

export function ChartViewport({ layout, active, lastTransitions, height }: ChartViewportProps) {
  const [view, setView] = useState<ChartView>('follow');
  const viewport = useRef<HTMLDivElement>(null);
  const size = useInnerSize(viewport);
  const frame = size ? frameChart(layout, active, view, size) : null;
  const activeKey = [...active].sort().join(' ');
  // A change of view or size jumps to its place; a move of the actor within the same view glides to it.
  const framedFor = useRef('');
  useEffect(() => {
    const element = viewport.current;
    if (!frame || !element) return;
    const settled = `${view} ${size?.width} ${size?.height}`;
    const glide = framedFor.current === settled && !prefersReducedMotion();
    framedFor.current = settled;
    element.scrollTo({ left: frame.left, top: frame.top, behavior: glide ? 'smooth' : 'instant' });
    // Only these change where the view should be; other renders (a log line) must not undo the user's scrolling.
  }, [activeKey, view, size?.width, size?.height, frame?.scale]);

  return (
    <div>
      <div role="group" aria-label="chart view" style={{ display: 'flex', gap: 4, justifyContent: 'flex-end', marginBottom: 4 }}>
        {VIEWS.map(({ view: option, label, hint }) => (
          <button
            key={option}
            type="button"
            title={hint}
            aria-pressed={view === option}
            onClick={() => setView(option)}
            style={{ font: 'inherit', fontSize: 12 }}
          >
            {label}
          </button>
        ))}
      </div>
      <div
        ref={viewport}
        data-chart-viewport={view}
        role="region"
        aria-label="statechart viewport, scrollable"
        tabIndex={0}
        style={{ height, minHeight: 200, overflow: 'auto', scrollbarGutter: 'stable', position: 'relative' }}
      >
        <ChartSvg layout={layout} active={active} lastTransitions={lastTransitions} scale={frame?.scale} />
      </div>
    </div>
  );
}
