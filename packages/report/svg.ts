/**
 * A small SVG writer for the report charts: a document of string parts, linear and log scales
 * with round ticks, axes and a legend. Output is byte-stable: every coordinate goes through
 * num() (one decimal, no "-0"), there are no generated ids, no dates and no measured text
 * (label widths are estimated from the character count).
 */

/** Colours shared by every chart so a backend looks the same everywhere. */
export const COLOUR = {
  sched: '#4c78a8',
  dep: '#e45756',
  sched_light: '#a6bfd9',
  dep_light: '#f2aaa9',
  grid: '#e6e6e6',
  axis: '#444444',
  text: '#222222',
  muted: '#777777',
  error: '#b00000',
} as const;

export const FONT = 'DejaVu Sans, Verdana, sans-serif';

/** A coordinate or length: one decimal, trailing ".0" dropped, never "-0". */
export function num(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`svg: non-finite coordinate ${x}`);
  const r = Math.round(x * 10) / 10;
  return r === 0 ? '0' : String(r);
}

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Estimated width of a label in px: the charts never measure text, so layouts stay stable. */
export function text_width(s: string, size = 11): number {
  return s.length * size * 0.58;
}

type Attrs = Readonly<Record<string, string | number>>;

function attrs(a: Attrs): string {
  return Object.keys(a).map((k) => ` ${k}="${typeof a[k] === 'number' ? num(a[k] as number) : esc(a[k] as string)}"`).join('');
}

export class SvgDocument {
  readonly width: number;
  readonly height: number;
  private readonly parts: string[] = [];

  constructor(width: number, height: number, title: string, description: string) {
    this.width = width;
    this.height = height;
    this.parts.push(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}" font-family="${FONT}" font-size="11">`,
      `<title>${esc(title)}</title>`,
      `<desc>${esc(description)}</desc>`,
      `<rect x="0" y="0" width="${num(width)}" height="${num(height)}" fill="#ffffff"/>`,
    );
  }

  rect(x: number, y: number, w: number, h: number, a: Attrs = {}): void {
    this.parts.push(`<rect${attrs({ x, y, width: Math.max(0, w), height: Math.max(0, h), ...a })}/>`);
  }

  line(x1: number, y1: number, x2: number, y2: number, a: Attrs = {}): void {
    this.parts.push(`<line${attrs({ x1, y1, x2, y2, ...a })}/>`);
  }

  /** A polyline through points; an empty list draws nothing. */
  polyline(points: readonly (readonly [number, number])[], a: Attrs = {}): void {
    if (points.length === 0) return;
    this.parts.push(`<polyline points="${points.map(([x, y]) => `${num(x)},${num(y)}`).join(' ')}"${attrs({ fill: 'none', ...a })}/>`);
  }

  path(d: string, a: Attrs = {}): void {
    if (d === '') return;
    this.parts.push(`<path d="${d}"${attrs(a)}/>`);
  }

  text(x: number, y: number, s: string, a: Attrs = {}): void {
    this.parts.push(`<text${attrs({ x, y, fill: COLOUR.text, ...a })}>${esc(s)}</text>`);
  }

  open_group(a: Attrs = {}): void {
    this.parts.push(`<g${attrs(a)}>`);
  }

  close_group(): void {
    this.parts.push('</g>');
  }

  toString(): string {
    return [...this.parts, '</svg>'].join('\n') + '\n';
  }
}

export interface Scale {
  readonly kind: 'linear' | 'log';
  /** Data domain after rounding to ticks. */
  readonly d0: number;
  readonly d1: number;
  readonly r0: number;
  readonly r1: number;
  readonly ticks: readonly number[];
  map(v: number): number;
}

/** 1, 2 or 5 times a power of ten: the tick step for about `count` ticks over `span`. */
export function nice_step(span: number, count: number): number {
  if (!(span > 0)) return 1;
  const raw = span / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / power;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
}

/** Round a tick value so floating-point noise never reaches the labels. */
function clean(v: number): number {
  return Number(v.toPrecision(12));
}

/**
 * A linear scale. By default the domain widens to round ticks; `exact` keeps [lo, hi] (time
 * axes, where widening would waste width) and places the round ticks inside it.
 */
export function linear_scale(lo: number, hi: number, r0: number, r1: number, tick_count = 6, exact = false): Scale {
  if (!(hi > lo)) hi = lo + 1;
  const step = nice_step(hi - lo, tick_count);
  const d0 = exact ? lo : Math.floor(lo / step) * step, d1 = exact ? hi : Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  const first = Math.ceil(d0 / step - 1e-9);
  for (let i = first; i * step <= d1 + step * 1e-9 && ticks.length < 100; i++) ticks.push(clean(i * step));
  const k = (r1 - r0) / (d1 - d0);
  return { kind: 'linear', d0, d1, r0, r1, ticks, map: (v) => r0 + (v - d0) * k };
}

/** A log10 scale over decades; values at or below zero map to the lower end. */
export function log_scale(lo: number, hi: number, r0: number, r1: number): Scale {
  const e0 = Math.floor(Math.log10(Math.max(lo, 1e-9)));
  let e1 = Math.ceil(Math.log10(Math.max(hi, 1e-9)));
  if (e1 <= e0) e1 = e0 + 1;
  const ticks: number[] = [];
  for (let e = e0; e <= e1; e++) {
    ticks.push(clean(Math.pow(10, e)));
    if (e1 - e0 <= 3 && e < e1) ticks.push(clean(2 * Math.pow(10, e)), clean(5 * Math.pow(10, e)));
  }
  ticks.sort((a, b) => a - b);
  const k = (r1 - r0) / (e1 - e0);
  return {
    kind: 'log', d0: Math.pow(10, e0), d1: Math.pow(10, e1), r0, r1, ticks,
    map: (v) => r0 + (Math.log10(Math.max(v, Math.pow(10, e0))) - e0) * k,
  };
}

/** Tick label: integers as is, small values with up to three significant digits. */
export function tick_label(v: number): string {
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1e6) return `${clean(v / 1e6)}M`;
  if (abs >= 1e4) return `${clean(v / 1e3)}k`;
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(3)));
}

/** Horizontal axis at `y` with grid lines up to `grid_top`, and a label centred below. */
export function axis_bottom(svg: SvgDocument, scale: Scale, y: number, grid_top: number, label: string): void {
  svg.line(scale.r0, y, scale.r1, y, { stroke: COLOUR.axis });
  for (const t of scale.ticks) {
    const x = scale.map(t);
    if (grid_top < y) svg.line(x, grid_top, x, y, { stroke: COLOUR.grid });
    svg.line(x, y, x, y + 4, { stroke: COLOUR.axis });
    svg.text(x, y + 15, tick_label(t), { 'text-anchor': 'middle' });
  }
  if (label !== '') svg.text((scale.r0 + scale.r1) / 2, y + 30, label, { 'text-anchor': 'middle' });
}

/** Vertical axis at `x` with grid lines across to `grid_right`, and a rotated label. */
export function axis_left(svg: SvgDocument, scale: Scale, x: number, grid_right: number, label: string): void {
  svg.line(x, scale.r0, x, scale.r1, { stroke: COLOUR.axis });
  for (const t of scale.ticks) {
    const y = scale.map(t);
    if (grid_right > x) svg.line(x, y, grid_right, y, { stroke: COLOUR.grid });
    svg.line(x - 4, y, x, y, { stroke: COLOUR.axis });
    svg.text(x - 6, y + 4, tick_label(t), { 'text-anchor': 'end' });
  }
  if (label !== '') {
    const cy = (scale.r0 + scale.r1) / 2;
    svg.text(x - 44, cy, label, { 'text-anchor': 'middle', transform: `rotate(-90 ${num(x - 44)} ${num(cy)})` });
  }
}

export interface LegendItem {
  readonly label: string;
  readonly colour: string;
  /** 'line' (default) or 'box'. */
  readonly shape?: 'line' | 'box';
  readonly dashed?: boolean;
}

/** One row of legend entries starting at (x, y). Returns the width used. */
export function legend(svg: SvgDocument, x: number, y: number, items: readonly LegendItem[]): number {
  let cx = x;
  for (const item of items) {
    if (item.shape === 'box') svg.rect(cx, y - 8, 14, 9, { fill: item.colour });
    else svg.line(cx, y - 4, cx + 14, y - 4, { stroke: item.colour, 'stroke-width': 2, ...(item.dashed ? { 'stroke-dasharray': '4 2' } : {}) });
    svg.text(cx + 18, y, item.label);
    cx += 18 + text_width(item.label) + 14;
  }
  return cx - x;
}
