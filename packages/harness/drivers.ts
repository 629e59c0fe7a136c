/**
 * The model drivers the harness can run, by name. Each entry builds a Device for a backend;
 * `defaults` are the device options a comparison uses unless the user overrides them.
 */
import type { Backend, DeviceFactory, DeviceOptions, EngineClass } from '@deplab/driver-api';
import { MockDevice, mock_dep_backend, mock_dep_hw_backend, mock_sched_backend } from '@deplab/driver-mock';
import { amdxdna_device } from '@deplab/driver-amdxdna';
import { panfrost_device_factory } from '@deplab/driver-panfrost';
import { panthor_device_factory } from '@deplab/driver-panthor';
import { xe_device_factory } from '@deplab/driver-xe';

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
};

const amdxdna: DriverEntry = {
  name: 'amdxdna',
  description: 'AMD AIE2 NPU: one hardware context per queue, 4 commands in flight, mailbox completion, 60 s timeout',
  factory: only('amdxdna', ['sched', 'dep'], amdxdna_device),
  engines: ['compute'],
  defaults: {},
  // AIE2 has firmware context errors, no engine or device reset through the driver (uapi.ts inject_fault).
  faults: ['hang', 'fw-error', 'ctrl-c', 'destroy', 'unplug', 'alloc-fail'],
};

const panthor: DriverEntry = {
  name: 'panthor',
  description: 'Arm Mali CSF: groups of queues rotating through firmware CSG slots on a 10 ms tick, group kill on timeout',
  factory: only('panthor', ['sched', 'dep'], panthor_device_factory),
  engines: ['render', 'compute', 'copy', 'bind'],
  defaults: {},
  faults: ['hang', 'fw-error', 'engine-reset', 'device-reset', 'ctrl-c', 'destroy', 'unplug', 'alloc-fail'],
};

const xe: DriverEntry = {
  name: 'xe',
  description: 'Intel xe with GuC submission: one scheduler per exec queue, in-band messages, ban on timeout, GT reset',
  factory: only('xe', ['sched', 'dep'], xe_device_factory),
  engines: ['render', 'copy', 'video', 'video_enhance', 'compute', 'bind'],
  defaults: {},
  faults: ['hang', 'fw-error', 'engine-reset', 'device-reset', 'ctrl-c', 'destroy', 'unplug', 'alloc-fail'],
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
