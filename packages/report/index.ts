/** @deplab/report (layer 5): what users read. */
export { comparison_markdown, fmt, group_triage, type ReportContext } from './markdown.ts';
export { comparison_perfetto_json, perfetto_json, perfetto_trace, run_source, type PerfettoEvent, type PerfettoSource, type PerfettoTrace } from './perfetto.ts';
export { ftrace_text, run_ftrace, type FtraceOptions } from './ftrace.ts';
export { CHARTS, chart_data, write_chart_files, write_comparison_charts, latency_cdf_svg, timeline_svg, depth_svg, kworker_svg, teardown_svg, type ChartData, type ChartOptions } from './charts.ts';
export { command_lines, comparison_text, ministat_block, type TextContext } from './text.ts';
export {
  DEFAULT_SENSITIVITY_SEEDS, assumption_family, cost_entry_family, cost_profile_family, default_families, robustness, robustness_summary, run_sensitivity, sensitivity_from_outputs,
  sensitivity_markdown, sensitivity_tasks, sensitivity_text, type Robustness, type SensitivityResult, type SensitivityTask, type SweptFamily,
  type SweptItem, type Variant, type VariantFamily,
} from './sensitivity.ts';
export { family_adjustment, family_caveat, judged, main_finding, metric_change, metric_phrase, type FamilyAdjustment } from './finding.ts';
export { backend_label } from './labels.ts';
export { fmt as format_number, metric_value, pct, signed } from './numbers.ts';
export { driver_folders, repository_root, scan_drivers, INTERNAL_BY_SPEC, type ApiScan, type BindingScan, type InternalAccess, type SymbolUse } from './api-usage.ts';
export { RFC_DIFFSTAT, line_diff, parse_diffstat, rfc_driver_stat, type LineDiff } from './conversion.ts';
export {
  API_MAPPING, HAZARDS, INTERNAL_ALTERNATIVE, deciding_items, driver_verdict, mapping_for, readiness_markdown, verdict_href,
  type DriverEvidence, type DriverVerdict, type ReadinessInput,
} from './readiness.ts';
export {
  FAULT_MATRIX, judge_driver, type CampaignEvidence, type CampaignGroup, type DriverJudgement, type RunEvidence, type VerdictItem, type VerdictKind,
} from './verdict.ts';
export { MAIL_WIDTH, layout_table, text_table, wrap, wrap_text, type TextTable, type TextTableOptions } from './wrap.ts';
export { COLOUR, SvgDocument, axis_bottom, legend, linear_scale, text_width, type LegendItem } from './svg.ts';
export { command_line, md_cell_code, md_code, plain_word_value, sh_quote, shell_words } from './shell.ts';
