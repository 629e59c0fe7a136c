/**
 * The model drivers the harness can run, by name. Each entry builds a Device for a backend;
 * `defaults` are the device options a comparison uses unless the user overrides them.
 */
import type { DeviceFactory, DeviceOptions, EngineClass } from '@deplab/driver-api';
import { MockDevice, mock_dep_backend, mock_sched_backend } from '@deplab/driver-mock';

export interface DriverEntry {
  readonly name: string;
  readonly description: string;
  readonly factory: DeviceFactory;
  readonly engines: readonly EngineClass[];
  readonly defaults: DeviceOptions;
}

const mock: DriverEntry = {
  name: 'mock',
  description: 'the KUnit mock GPU: one serial timeline, queues = entities / drm_dep queues',
  factory: (kernel, backend, options) => new MockDevice(kernel, backend === 'sched' ? mock_sched_backend() : mock_dep_backend(), options),
  engines: ['render'],
  // As the KUnit scheduling tests: no TDR (the mock's serial timeline makes queued work look hung).
  defaults: {},
};

const registry = new Map<string, DriverEntry>([[mock.name, mock]]);

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
