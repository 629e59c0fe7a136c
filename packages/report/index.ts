/** @deplab/report (layer 5): what users read. */
export { comparison_markdown, fmt, type ReportContext } from './markdown.ts';
