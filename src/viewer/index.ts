/**
 * `sessionchart/viewer`: an offline statechart viewer for any XState v5 machine (React and elkjs are optional
 * peers, needed only by this entry).
 */
export { StatechartViewer, type StatechartViewerProps } from './StatechartViewer.js';
export { ChartSvg, type ChartSvgProps } from './ChartSvg.js';
export { ChartViewport, type ChartViewportProps } from './ChartViewport.js';
export { EventLog, type EventLogProps } from './EventLog.js';
export { frameChart, READABLE_LABEL_PX, type ChartFrame, type ChartView, type Size } from './framing.js';
export { layoutMachine, stateKey, type ChartLayout, type ChartState, type ChartEdge, type ChartMarker, type Box } from './graph.js';
export { eventLabel, guardName } from './labels.js';
export {
  createActivityRecorder,
  useActorActivity,
  activePaths,
  stateText,
  type Activity,
  type ActivityOptions,
  type ActivityRecorder,
  type LogEntry,
  type RecorderOptions,
} from './activity.js';
export { summarizeEvent, type DescribeEvent, type DescribedStep, type LoggedEvent, type LoggedStep } from './events.js';
export { timeAgo } from './time.js';
