/**
 * Test-only device variants with a planted defect on the candidate backend, for tests that must
 * see the harness report a regression (or not): a drm_dep binding that drops a guarantee.
 */
import { EIO, cost_median_ns, dma_fence_set_error, type Kernel, type Sleepable } from '@deplab/sim';
import type { Device, DeviceFactory, JobHandle } from '@deplab/driver-api';
import { MockDevice, mock_dep_backend, mock_sched_backend } from '@deplab/driver-mock';

export const mock: DeviceFactory = (k, backend, options) => new MockDevice(k, backend === 'sched' ? mock_sched_backend() : mock_dep_backend(), options);

/**
 * The mock whose drm_dep side completes its n-th submitted job with -EIO (job_result breaks on
 * drm_dep alone) when `when(kernel)` holds.
 */
export function planted_eio(n = 3, when: (k: Kernel) => boolean = () => true): DeviceFactory {
  return (k, backend, options) => {
    const dev = mock(k, backend, options);
    if (backend === 'sched' || !when(k)) return dev;
    let submitted = 0;
    return new Proxy(dev, {
      get(target, prop, receiver) {
        if (prop === 'submit') {
          return function* (q: Parameters<Device['submit']>[0], spec: Parameters<Device['submit']>[1]): Sleepable<JobHandle | number> {
            const r = yield* target.submit(q, spec);
            if (typeof r !== 'number' && ++submitted === n) dma_fence_set_error(r.out_fence, -EIO);
            return r;
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as Device;
  };
}

/** planted_eio only when kworker wake-ups are slow (median at least 20 µs): a verdict that depends on the cost table. */
export const planted_slow_wakeup = planted_eio(3, (k) => cost_median_ns(k.costs.kworker_wakeup_ns) >= 20_000);
