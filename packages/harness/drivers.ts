/**
 * The model drivers the harness can run, by name. Each entry builds a Device for a backend;
 * `defaults` are the device options a comparison uses unless the user overrides them; `options`
 * says what its uapi accepts, so a workload or a token that does not fit is refused before it
 * runs (check_workload_for_driver, check_device_options).
 */
import { check_options, type Backend, type DeviceFactory, type DeviceOptions, type DriverOptionSchema, type EngineClass } from '@deplab/driver-api';
import { MOCK_OPTION_SCHEMA, MockDevice, mock_dep_backend, mock_dep_hw_backend, mock_sched_backend } from '@deplab/driver-mock';
import { AMDXDNA_OPTION_SCHEMA, amdxdna_device } from '@deplab/driver-amdxdna';
import { PANFROST_OPTION_SCHEMA, panfrost_device_factory } from '@deplab/driver-panfrost';
import { PANTHOR_OPTION_SCHEMA, panthor_device_factory } from '@deplab/driver-panthor';
import { XE_OPTION_SCHEMA, xe_device_factory } from '@deplab/driver-xe';
import { diagnostic } from './workload/diagnostics.ts';
import type { Diagnostic, Workload } from './workload/types.ts';

export interface DriverEntry {
  readonly name: string;
  readonly description: string;
  readonly factory: DeviceFactory;
  readonly engines: readonly EngineClass[];
  readonly defaults: DeviceOptions;
  /** The backends the driver has bindings for; default sched and dep. */
  readonly backends?: readonly Backend[];
  /** The faults its device can inject (the --faults / fault-matrix names); the rest it refuses. */
  readonly faults: readonly string[];
  /** What its uapi accepts (device options, queue knobs, engines); absent: nothing is checked. */
  readonly options?: DriverOptionSchema;
}

/** The backends `entry` has bindings for. */
export function driver_backends(entry: DriverEntry): readonly Backend[] {
  return entry.backends ?? ['sched', 'dep'];
}

/** The drm_dep path a driver converts to: drm_dep itself, or drm_dep + the HW-queue layer. */
export function dep_path(entry: DriverEntry): Backend {
  return driver_backends(entry).includes('dep') ? 'dep' : 'dep-hw';
}

/** Why `entry` cannot run on `backend` (a message naming both), or null. */
export function backend_problem(entry: DriverEntry, backend: Backend): string | null {
  const have = driver_backends(entry);
  return have.includes(backend) ? null : `driver ${entry.name} has no ${backend} binding (its backends: ${have.join(', ')})`;
}

/** `factory`, refusing with a RangeError the backends the driver has no binding for. */
function only(name: string, backends: readonly Backend[], factory: DeviceFactory): DeviceFactory {
  return (kernel, backend, options) => {
    if (!backends.includes(backend)) throw new RangeError(`driver ${name} has no ${backend} binding (its backends: ${backends.join(', ')})`);
    return factory(kernel, backend, options);
  };
}

const mock: DriverEntry = {
  name: 'mock',
  description: 'the KUnit mock GPU: one serial timeline, queues = entities / drm_dep queues',
  factory: (kernel, backend, options) => new MockDevice(kernel,
    backend === 'sched' ? mock_sched_backend() : backend === 'dep' ? mock_dep_backend() : mock_dep_hw_backend(), options),
  engines: ['render'],
  backends: ['sched', 'dep', 'dep-hw'],
  // As the KUnit scheduling tests: no TDR (the mock's serial timeline makes queued work look hung).
  defaults: {},
  // The KUnit mock has no firmware and no engines to reset (MockDevice.inject_fault).
  faults: ['hang', 'ctrl-c', 'destroy', 'unplug', 'alloc-fail'],
  options: MOCK_OPTION_SCHEMA,
};

const amdxdna: DriverEntry = {
  name: 'amdxdna',
  description: 'AMD AIE2 NPU: one hardware context per queue, 4 commands in flight, mailbox completion, 60 s timeout',
  factory: only('amdxdna', ['sched', 'dep'], amdxdna_device),
  engines: ['compute'],
  defaults: {},
  // AIE2 has firmware context errors, no engine or device reset through the driver (uapi.ts inject_fault).
  faults: ['hang', 'fw-error', 'ctrl-c', 'destroy', 'unplug', 'alloc-fail'],
  options: AMDXDNA_OPTION_SCHEMA,
};

const panthor: DriverEntry = {
  name: 'panthor',
  description: 'Arm Mali CSF: groups of queues rotating through firmware CSG slots on a 10 ms tick, group kill on timeout',
  factory: only('panthor', ['sched', 'dep'], panthor_device_factory),
  engines: ['render', 'compute', 'copy', 'bind'],
  defaults: {},
  faults: ['hang', 'fw-error', 'engine-reset', 'device-reset', 'ctrl-c', 'destroy', 'unplug', 'alloc-fail'],
  options: PANTHOR_OPTION_SCHEMA,
};

const xe: DriverEntry = {
  name: 'xe',
  description: 'Intel xe with GuC submission: one scheduler per exec queue, in-band messages, ban on timeout, GT reset',
  factory: only('xe', ['sched', 'dep'], xe_device_factory),
  engines: ['render', 'copy', 'video', 'video_enhance', 'compute', 'bind'],
  defaults: {},
  faults: ['hang', 'fw-error', 'engine-reset', 'device-reset', 'ctrl-c', 'destroy', 'unplug', 'alloc-fail'],
  options: XE_OPTION_SCHEMA,
};

const panfrost: DriverEntry = {
  name: 'panfrost',
  description: 'Arm Mali job manager: one ring per job slot (2 jobs deep), JM contexts with priorities, 500 ms timeout, whole-GPU reset',
  factory: panfrost_device_factory,
  engines: ['render', 'compute', 'copy'],
  defaults: {},
  backends: ['sched', 'dep-hw'],
  // Job faults and GPU resets (uapi.ts inject_fault); no firmware to fail.
  faults: ['hang', 'engine-reset', 'device-reset', 'ctrl-c', 'destroy', 'unplug', 'alloc-fail'],
  options: PANFROST_OPTION_SCHEMA,
};

const registry = new Map<string, DriverEntry>([
  [mock.name, mock], [xe.name, xe], [panthor.name, panthor], [amdxdna.name, amdxdna], [panfrost.name, panfrost],
]);

/** Add a driver (the model drivers register themselves in drivers-all.ts). */
export function register_driver(entry: DriverEntry): void {
  registry.set(entry.name, entry);
}

export function driver_names(): string[] {
  return [...registry.keys()];
}

export function find_driver(name: string): DriverEntry | undefined {
  return registry.get(name);
}

/**
 * What in `workload` the driver's uapi would refuse: an engine its create_queue does not take,
 * a queue knob it does not know or a value out of its range. One diagnostic per problem, naming
 * the client, the queue and the field.
 */
export function check_workload_for_driver(workload: Workload, entry: DriverEntry): Diagnostic[] {
  const schema = entry.options;
  if (schema === undefined) return [];
  const out: Diagnostic[] = [];
  workload.clients.forEach((client, c) => client.queues.forEach((queue, q) => {
    const path = `clients[${c}].queues[${q}]`;
    const where = `client ${client.name}, queue ${queue.name}`;
    if (!schema.engines.includes(queue.engine)) {
      out.push(diagnostic(workload.source, `${where}: engine "${queue.engine}": driver ${entry.name} has no such engine (it has: ${schema.engines.join(', ')})`,
        { path: `${path}.engine` }));
    }
    for (const p of check_options(schema.queue, queue.driver, `${entry.name} queue knob`)) out.push(diagnostic(workload.source, `${where}: ${p}`, { path: `${path}.driver` }));
  }));
  return out;
}

/** What in `device` (DeviceOptions.driver) the driver does not accept, one message per key. */
export function check_device_options(entry: DriverEntry, device: Readonly<Record<string, unknown>> | undefined): string[] {
  return entry.options === undefined ? [] : check_options(entry.options.device, device, `${entry.name} device option`);
}
