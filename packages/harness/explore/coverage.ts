/**
 * Coverage counters: evidence, read from the trace, that a campaign reached the interleavings
 * it is meant to probe. Each counter is a count of occurrences in one run; campaigns sum them
 * and count the runs that reached each. Near means within NEAR_NS of virtual time.
 */
import type { TraceEvent } from '@deplab/sim';
import type { RunOutcome } from '../run/runner.ts';
import type { Coverage } from './types.ts';

const NEAR_NS = 2_000;
/** A TDR runs in a kworker: a completion within one wake-up of it races the handler. */
const NEAR_TIMEOUT_NS = 20_000;

export const COVERAGE_COUNTERS: readonly { readonly name: string; readonly meaning: string }[] = [
  { name: 'completion_during_teardown', meaning: 'a hardware completion while a queue destroy / client close was in progress (call..return)' },
  { name: 'completion_at_teardown_call', meaning: 'a hardware completion within 2 us of a queue destroy / client close call (completion raced queue release)' },
  { name: 'kill_with_jobs_in_flight', meaning: 'a client close / queue destroy while jobs of that client were on the hardware' },
  { name: 'kill_with_jobs_queued', meaning: 'a client close / queue destroy while jobs of that client were queued and not yet run' },
  { name: 'close_right_after_submit', meaning: "a Ctrl-C right after a submit returned (the closest the device interface gets to 'between arm and push')" },
  { name: 'close_during_timeout', meaning: 'a timeout handled within 2 us of, or during, a client close / queue destroy' },
  { name: 'timeout_while_completing', meaning: 'a timeout within 20 us (about one kworker wake-up) of a hardware completion' },
  { name: 'timeouts', meaning: 'timeouts handled (drm_*_job_timedout)' },
  { name: 'unplug_with_queues_alive', meaning: 'a device unplug while clients still had queues' },
  { name: 'irq_bursts', meaning: 'one interrupt or completion-worker run that completed 3 or more jobs' },
  { name: 'device_faults_injected', meaning: 'fw_error / engine_reset / device_reset events that fired' },
  { name: 'device_faults_unsupported', meaning: 'device faults the driver refused (the mock has no firmware or engines to reset)' },
  { name: 'alloc_failures', meaning: 'non-sleeping allocations failed by fault injection' },
  { name: 'races', meaning: 'tie-breaker choices among racing events' },
  { name: 'races_reordered', meaning: 'choices that did not pick the FIFO candidate' },
];

const is_done = (name: string) => name === 'drm_sched_job_done' || name === 'drm_dep_job_done';
const is_run = (name: string) => name === 'drm_sched_job_run' || name === 'drm_dep_job_run';
const is_timeout = (name: string) => name === 'drm_sched_job_timedout' || name === 'drm_dep_job_timedout';

/**
 * Times of hardware completions: a job that ran completes, in a body (consecutive events of
 * one context: an interrupt handler or a driver's completion worker) that is not a TDR's. Kills
 * and cancellations complete jobs that never ran; a TDR completes the job it resets. Counts
 * the bodies completing 3 or more jobs as bursts.
 */
function hardware_completions(events: readonly TraceEvent[], c: Coverage): number[] {
  const ran = new Set<string>();
  const out: number[] = [];
  let body: number[] = [], body_context = '', body_tdr = false;
  const end_body = () => {
    if (!body_tdr) {
      out.push(...body);
      if (body.length >= 3) c.irq_bursts++;
    }
    body = [];
    body_tdr = false;
  };
  for (const ev of events) {
    if (ev.context !== body_context) { end_body(); body_context = ev.context; }
    const key = `${String(ev.args.fence_context)}:${String(ev.args.fence_seqno)}`;
    if (is_run(ev.name)) ran.add(key);
    else if (is_timeout(ev.name)) body_tdr = true;
    else if (is_done(ev.name) && ran.has(key)) body.push(ev.t_ns);
  }
  end_body();
  return out;
}

interface Span {
  readonly client: string;
  readonly call: number;
  ret: number;
}

export function coverage_of(outcome: RunOutcome): Coverage {
  const jobs = outcome.observation.jobs ?? [];
  const submitted = outcome.jobs ?? [];
  const c: Coverage = {};
  for (const { name } of COVERAGE_COUNTERS) c[name] = 0;
  const events = outcome.kernel.trace.events;
  const done = hardware_completions(events, c);
  const timeouts: number[] = [];
  const teardowns: Span[] = [];
  const open = new Map<string, Span>();
  let unplug_with_alive = 0;
  const closed = new Set<string>();
  const clients = new Set(outcome.workload.clients.map((x) => x.name));
  for (const ev of events) {
    const name = ev.name;
    if (name === 'drm_sched_job_timedout' || name === 'drm_dep_job_timedout') timeouts.push(ev.t_ns);
    else if (name === 'harness_close_client' || name === 'harness_destroy_queue') {
      const who = String(name === 'harness_close_client' ? ev.args.client : ev.args.queue);
      const client = name === 'harness_close_client' ? who : who.slice(0, who.indexOf('/'));
      if (ev.args.phase === 'call') {
        const span = { client, call: ev.t_ns, ret: Infinity };
        teardowns.push(span);
        open.set(`${name}:${who}`, span);
        if (name === 'harness_close_client') closed.add(who);
      } else {
        const span = open.get(`${name}:${who}`);
        if (span !== undefined) span.ret = ev.t_ns;
      }
    } else if (name === 'harness_unplug' && ev.args.phase === 'call') {
      if ([...clients].some((x) => !closed.has(x))) unplug_with_alive++;
    } else if (name === 'mock_fault_unsupported') c.device_faults_unsupported++;
    else if (name === 'harness_event' && (ev.args.action === 'fw_error' || ev.args.action === 'engine_reset' || ev.args.action === 'device_reset')) {
      c.device_faults_injected++;
    }
  }
  c.unplug_with_queues_alive = unplug_with_alive;
  c.timeouts = timeouts.length;
  for (const t of done) {
    if (teardowns.some((s) => t >= s.call && t <= s.ret)) c.completion_during_teardown++;
    if (teardowns.some((s) => Math.abs(t - s.call) <= NEAR_NS)) c.completion_at_teardown_call++;
  }
  for (const t of timeouts) {
    if (done.some((d) => Math.abs(d - t) <= NEAR_TIMEOUT_NS)) c.timeout_while_completing++;
    if (teardowns.some((s) => (t >= s.call && t <= s.ret) || Math.abs(t - s.call) <= NEAR_NS)) c.close_during_timeout++;
  }
  for (const s of teardowns) {
    const mine = jobs.filter((j) => j.client === s.client && j.submit_error === 0 && j.submitted_ns <= s.call);
    if (mine.some((j) => j.run_ns >= 0 && j.run_ns <= s.call && (j.finished_ns < 0 || j.finished_ns > s.call))) c.kill_with_jobs_in_flight++;
    if (mine.some((j) => j.run_ns < 0 || j.run_ns > s.call)) c.kill_with_jobs_queued++;
  }
  for (const ev of outcome.workload.events) {
    const t = ev.trigger;
    if (t.kind !== 'after' || ev.action.kind !== 'close_client') continue;
    const job = submitted.find((j) => j.client === t.client && j.step_index === t.step_index && j.iteration === t.loop);
    if (job !== undefined && teardowns.some((s) => s.client === t.client && s.call === job.submit_return_ns)) c.close_right_after_submit++;
  }
  c.alloc_failures = outcome.kernel.alloc.failed_allocations;
  const choices = outcome.kernel.eq.choices;
  c.races = choices.length;
  for (const x of choices) if (x !== 0) c.races_reordered++;
  return c;
}
