/**
 * What the chart's viewport shows: the scale of each view and where it scrolls to. A machine of any size is
 * readable in the follow view: it never shrinks state labels below READABLE_LABEL_PX and centres on the active
 * states (with their neighbours when they fit), so it pans as the actor moves.
 */
import type { Box, ChartLayout } from './graph.js';

/** `follow`: readable, centred on the active states; `actual`: 1:1, centred likewise; `whole`: all of it. */
export type ChartView = 'follow' | 'actual' | 'whole';

/** The font size of state labels in chart units (ChartSvg draws them so). */
export const STATE_LABEL_UNITS = 13;
export const READABLE_LABEL_PX = 12;
/** The chart's margin around the layout, in chart units. */
export const CHART_MARGIN = 4;
/** A small chart is not blown up past this in the whole view. */
const MAX_WHOLE_SCALE = 1.5;

export interface Size {
  width: number;
  height: number;
}

export interface ChartFrame {
  scale: number;
  /** The viewport's scroll position, in screen px. */
  left: number;
  top: number;
}

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));

function union(boxes: Box[]): Box | null {
  if (boxes.length === 0) return null;
  const x = Math.min(...boxes.map((box) => box.x));
  const y = Math.min(...boxes.map((box) => box.y));
  const right = Math.max(...boxes.map((box) => box.x + box.width));
  const bottom = Math.max(...boxes.map((box) => box.y + box.height));
  return { x, y, width: right - x, height: bottom - y };
}

const isAncestor = (key: string, of: string) => key.startsWith('#') || of.startsWith(`${key}.`);

/** The boxes of the active states with no active child, and of the states one arrow away from them. */
function activeBoxes(layout: ChartLayout, active: ReadonlySet<string>): { leaves: Box[]; around: Box[] } {
  const leafKeys = [...active].filter((key) => !key.startsWith('#') && ![...active].some((other) => isAncestor(key, other)));
  const near = new Set(leafKeys);
  for (const edge of layout.edges) {
    for (const [from, to] of [[edge.source, edge.target], [edge.target, edge.source]] as const) {
      if (leafKeys.includes(from) && !leafKeys.some((leaf) => isAncestor(to, leaf))) near.add(to);
    }
  }
  const boxOf = (key: string) => layout.states.find((state) => state.key === key);
  return {
    leaves: leafKeys.map(boxOf).filter((box) => box !== undefined),
    around: [...near].map(boxOf).filter((box) => box !== undefined),
  };
}

export function frameChart(layout: ChartLayout, active: ReadonlySet<string>, view: ChartView, viewport: Size): ChartFrame {
  const chart = { width: layout.width + 2 * CHART_MARGIN, height: layout.height + 2 * CHART_MARGIN };
  const fit = Math.min(viewport.width / chart.width, viewport.height / chart.height);
  const scale =
    view === 'actual' ? 1 : view === 'whole' ? Math.min(fit, MAX_WHOLE_SCALE) : clamp(fit, READABLE_LABEL_PX / STATE_LABEL_UNITS, 1);
  const { leaves, around } = activeBoxes(layout, active);
  const region = union(around);
  const fits = (box: Box) => box.width * scale <= viewport.width && box.height * scale <= viewport.height;
  const focus = region && fits(region) ? region : union(leaves);
  if (view === 'whole' || focus === null) return { scale, left: 0, top: 0 };
  const centre = (start: number, length: number) => (start + length / 2 + CHART_MARGIN) * scale;
  return {
    scale,
    left: clamp(centre(focus.x, focus.width) - viewport.width / 2, 0, Math.max(0, chart.width * scale - viewport.width)),
    top: clamp(centre(focus.y, focus.height) - viewport.height / 2, 0, Math.max(0, chart.height * scale - viewport.height)),
  };
}
