/** Number formats shared by the Markdown and text reports: fixed, byte-stable, with units. */

/** Up to `digits` decimals for ordinary magnitudes, 3 significant digits below 1, integers from 1000. */
export function fmt(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (x === 0) return '0';
  const abs = Math.abs(x);
  if (abs >= 1000) return x.toFixed(0);
  if (abs >= 1) return x.toFixed(digits);
  return x.toPrecision(3);
}

export function pct(x: number): string {
  return Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%` : 'n/a';
}

/** A value of metric `name` with its unit: µs metrics switch to ms from 1000 µs, bytes to KiB. */
export function metric_value(name: string, x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (/_us(\.|$)/.test(name)) return Math.abs(x) >= 1000 ? `${(x / 1000).toFixed(2)} ms` : `${fmt(x)} µs`;
  if (name.endsWith('_bytes')) return Math.abs(x) >= 1024 ? `${(x / 1024).toFixed(1)} KiB` : `${x.toFixed(0)} B`;
  if (name.endsWith('_per_s')) return `${fmt(x)} jobs/s`;
  if (name === 'cpu_us_per_job') return `${fmt(x)} µs`;
  return fmt(x);
}

/** With an explicit sign. */
export function signed(text: string): string {
  return text.startsWith('-') || text === 'n/a' ? text : `+${text}`;
}

/**
 * A p-value in two significant digits; one below what a double's t distribution resolves (the
 * cdf underflows to 0) is shown as a bound, never as "0.0".
 */
export function p_value(p: number): string {
  return p < 1e-15 ? '< 1e-15' : p.toPrecision(2);
}
