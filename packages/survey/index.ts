/** @deplab/survey (layer 5): the drm_sched users of a real Linux tree, read with tree-sitter's C grammar. */
export { parse_inline, parse_task, run_survey, SOURCES_FILE, SURVEY_FORMAT, SurveyInputError, type DriverSurvey, type ParseOutput, type ParseRunner, type ParseTask, type FieldSummary, type InitCall, type Mapping, type OpsSummary, type PathName, type Setup, type Survey, type SurveyOptions, type SymbolSummary } from './survey.ts';
export { survey_json, survey_markdown, survey_svg, driver_anchor, type RenderOptions } from './output.ts';
export { compare_with_models, modelled_drivers, survey_summary, type ModelCheck, type SurveySummary } from './models.ts';
export { FIELD_EQUIVALENTS, HW_LAYER_SYMBOLS, RECOVERY_HELPERS, SCHED_STRUCTS } from './api.ts';
