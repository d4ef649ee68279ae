/**
 * `sessionchart/viewer`: an offline statechart viewer for any XState v5 machine (React and elkjs are optional
 * peers, needed only by this entry).
 */
export { StatechartViewer, type StatechartViewerProps } from './StatechartViewer.js';
export { ChartSvg, type ChartSvgProps } from './ChartSvg.js';
export { layoutMachine, stateKey, type ChartLayout, type ChartState, type ChartEdge, type ChartMarker, type Box } from './graph.js';
export { eventLabel, guardName } from './labels.js';
export { useActorActivity, activePaths, stateText, type Activity, type ActivityOptions, type LogEntry } from './activity.js';
export { summarizeEvent, SESSION_EVENT_DESCRIPTIONS, type DescribeEvent, type LoggedEvent } from './events.js';
