/**
 * The model drivers the harness can run, by name. Each entry builds a Device for a backend;
 * `defaults` are the device options a comparison uses unless the user overrides them.
 */
import type { Backend, DeviceFactory, DeviceOptions, EngineClass } from '@deplab/driver-api';
import { MockDevice, mock_dep_backend, mock_sched_backend } from '@deplab/driver-mock';
import { amdxdna_device } from '@deplab/driver-amdxdna';
import { panthor_device_factory } from '@deplab/driver-panthor';
import { xe_device_factory } from '@deplab/driver-xe';

export interface DriverEntry {
  readonly name: string;
  readonly description: string;
  readonly factory: DeviceFactory;
  readonly engines: readonly EngineClass[];
  readonly defaults: DeviceOptions;
  /** The bindings the driver has (default: drm_sched and drm_dep). */
  readonly backends?: readonly Backend[];
  /** The faults its device can inject (the --faults / fault-matrix names); the rest it refuses. */
  readonly faults: readonly string[];
}

const mock: DriverEntry = {
  name: 'mock',
  description: 'the KUnit mock GPU: one serial timeline, queues = entities / drm_dep queues',
  factory: (kernel, backend, options) => new MockDevice(kernel, backend === 'sched' ? mock_sched_backend() : mock_dep_backend(), options),
  engines: ['render'],
  // As the KUnit scheduling tests: no TDR (the mock's serial timeline makes queued work look hung).
  defaults: {},
  // The KUnit mock has no firmware and no engines to reset (MockDevice.inject_fault).
  faults: ['hang', 'ctrl-c', 'destroy', 'unplug', 'alloc-fail'],
};

const amdxdna: DriverEntry = {
  name: 'amdxdna',
  description: 'AMD AIE2 NPU: one hardware context per queue, 4 commands in flight, mailbox completion, 60 s timeout',
  factory: amdxdna_device,
  engines: ['compute'],
  defaults: {},
  // AIE2 has firmware context errors, no engine or device reset through the driver (uapi.ts inject_fault).
  faults: ['hang', 'fw-error', 'ctrl-c', 'destroy', 'unplug', 'alloc-fail'],
};

const panthor: DriverEntry = {
  name: 'panthor',
  description: 'Arm Mali CSF: groups of queues rotating through firmware CSG slots on a 10 ms tick, group kill on timeout',
  factory: panthor_device_factory,
  engines: ['render', 'compute', 'copy', 'bind'],
  defaults: {},
  faults: ['hang', 'fw-error', 'engine-reset', 'device-reset', 'ctrl-c', 'destroy', 'unplug', 'alloc-fail'],
};

const xe: DriverEntry = {
  name: 'xe',
  description: 'Intel xe with GuC submission: one scheduler per exec queue, in-band messages, ban on timeout, GT reset',
  factory: xe_device_factory,
  engines: ['render', 'copy', 'video', 'video_enhance', 'compute', 'bind'],
  defaults: {},
  faults: ['hang', 'fw-error', 'engine-reset', 'device-reset', 'ctrl-c', 'destroy', 'unplug', 'alloc-fail'],
};

const registry = new Map<string, DriverEntry>([[mock.name, mock], [xe.name, xe], [panthor.name, panthor], [amdxdna.name, amdxdna]]);

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
