/**
 * A human-readable timeline: the last trace events up to an instant, one per line, like a
 * kernel log with ftrace timestamps: time (ms), context, event, arguments.
 */
import type { TraceEvent } from '@deplab/sim';

export function timeline(events: readonly TraceEvent[], until_ns: number, count = 30): string {
  let end = events.length;
  while (end > 0 && events[end - 1].t_ns > until_ns) end--;
  const slice = events.slice(Math.max(0, end - count), end);
  const width = Math.max(8, ...slice.map((e) => e.context.length));
  return slice.map((e) => {
    const args = Object.entries(e.args).map(([k, v]) => `${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : String(v)}`).join(' ');
    return `${(e.t_ns / 1e6).toFixed(6).padStart(12)} ms  ${e.context.padEnd(width)}  ${e.name}${args.length > 0 ? ` ${args}` : ''}`;
  }).join('\n');
}
