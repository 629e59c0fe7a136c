/**
 * The workload layer of the harness: the normalized Workload the runner interprets, the JSON
 * format and IGT gem_wsim importer that produce it, and draw() for its distributions.
 * Format and mapping reference: README.md beside this file.
 */
export type {
  BatchStep, BufferDefinition, ClientDefinition, DelayStep, Dependency, Diagnostic, Distribution, EngineClass, EventAction,
  EventTrigger, ExternalFenceDefinition, FenceStep, LoadResult, Note, NoteKind, PeriodStep, Priority, Program, ProgramEnd,
  QueueDefinition, QueueDepthStep, SetPriorityStep, SignalStep, Step, StepKind, SyncStep, TerminateStep, ThrottleStep,
  Workload, WorkloadEvent,
} from './types.ts';
export { ENGINE_CLASSES, LIMITS, PRIORITIES } from './types.ts';
export { draw } from './draw.ts';
export { check_workload, parse_workload_data } from './check.ts';
export { format_diagnostic } from './diagnostics.ts';
export { load_workload_json } from './load-json.ts';
export { import_wsim, wsim_priority, type WsimImportOptions } from './wsim-import.ts';
