/**
 * panthor's user-facing operations (panthor_drv.c ioctls: GROUP_CREATE, GROUP_DESTROY,
 * GROUP_SUBMIT, VM_BIND async, postclose, and panthor_device_unplug) written once against
 * PanthorBinding, and the harness Device built on them. `panthor_device_factory` picks the
 * binding by backend ('sched': on-sched.ts, 'dep': on-dep.ts).
 *
 * How the common device interface maps onto panthor (README "Device mapping"):
 *   - open_client = open the DRM file and create one VM (Mesa creates one VM per context).
 *   - create_queue(render | compute | copy) hands out one queue of a group: the first call for
 *     a (client, priority) pair creates a group of `queues_per_group` queues (default 3: PanVK's
 *     vertex/tiler, fragment and compute queues) and later calls of the same pair take its next
 *     free queue, so a client's render/compute/copy queues share one group (one CSG slot, one
 *     fate: a timeout kills all of them). The engine class only names the queue: every CS queue
 *     can run any job. create_queue(bind) hands out the client's VM_BIND queue.
 *   - priority low/normal/high/realtime = PANTHOR_CSG_PRIORITY_LOW/MEDIUM/HIGH/RT (the RT
 *     permission check is not modelled). set_priority: there is no such ioctl (-EOPNOTSUPP).
 *   - submit = GROUP_SUBMIT with one queue_submit (or VM_BIND with one op on a bind queue).
 *     duration_ns 0 is an empty (sync-only) stream, as PanVK emits for fence aggregation.
 *   - destroy_queue closes the handle; the group is destroyed with its last open handle.
 *   - close_client = postclose: destroy every group, put the VM.
 *   - faults: hang_job (the stream stops progressing), engine_reset (CS_FATAL on the queue:
 *     the group is fatal), fw_error (CS_FATAL CS_UNRECOVERABLE: group fatal + GPU reset),
 *     device_reset (a GPU reset for a firmware failure).
 */
import {
  EINVAL, ENODEV, GFP_KERNEL, dma_fence, dma_fence_get, kmalloc, type Kernel, type Sleepable,
} from '@deplab/sim';
import {
  OutFenceRefs,
  type Backend, type ClientHandle, type Device, type DeviceFactory, type DeviceOptions, type EngineClass, type Fault, type JobHandle, type JobSpec,
  type Priority, type QueueHandle, type QueueOptions, type QueueState,
} from '@deplab/driver-api';
import type { DriverOptionSchema } from '@deplab/driver-api';
import {
  PANTHOR_CSG_PRIORITY_HIGH, PANTHOR_CSG_PRIORITY_LOW, PANTHOR_CSG_PRIORITY_MEDIUM, PANTHOR_CSG_PRIORITY_RT,
  calc_job_credits, group_can_run, group_get, panthor_device, panthor_device_schedule_reset,
  panthor_device_unplug, panthor_group_create, panthor_group_destroy, panthor_vm_bind_job_release, panthor_vm_cleanup_op_ctx,
  panthor_vm_create, panthor_vm_get, panthor_vm_put,
  type PanthorBinding, type PanthorJob, type PanthorVmBindJob, type panthor_group, type panthor_vm,
} from './csf.ts';
import {
  DRM_PANTHOR_EXCEPTION_CS_INSTR_INVALID, DRM_PANTHOR_EXCEPTION_CS_UNRECOVERABLE, panthor_fw_cs_inject_fatal,
  panthor_fw_entry_complete_manual, panthor_fw_entry_hang,
} from './hw.ts';
import { panthor_sched_binding } from './on-sched.ts';
import { panthor_dep_binding } from './on-dep.ts';

const EOPNOTSUPP = 95;

const PRIORITY: Record<Priority, number> = {
  low: PANTHOR_CSG_PRIORITY_LOW, normal: PANTHOR_CSG_PRIORITY_MEDIUM, high: PANTHOR_CSG_PRIORITY_HIGH,
  realtime: PANTHOR_CSG_PRIORITY_RT,
};

/** Device options (options.driver) and their defaults. */
export interface PanthorDeviceOptions {
  /** FW CSG slots (1..16). */
  readonly csg_slots: number;
  /** GPU address spaces for user VMs (the MCU's excluded). */
  readonly as_slots: number;
  /** Queues per group (1..32). */
  readonly queues_per_group: number;
  /** Ring buffer bytes per queue (4 KiB..64 KiB, power of two): credit_limit = size / 8. */
  readonly ringbuf_size: number;
  /** PANTHOR_DEVICE_PROFILING_* mask: 0 -> 16 credits per job, 3 -> 24. */
  readonly profiling: number;
  /** DRM_DEP_QUEUE_FLAGS_* of every drm_dep queue (drm_dep binding only). */
  readonly dep_flags: number;
}

export const PANTHOR_DEFAULTS: PanthorDeviceOptions = Object.freeze({
  csg_slots: 8, as_slots: 7, queues_per_group: 3, ringbuf_size: 65536, profiling: 0, dep_flags: 0,
});

function option(options: DeviceOptions | undefined, key: keyof PanthorDeviceOptions): number {
  const v = options?.driver?.[key];
  return typeof v === 'number' ? v : PANTHOR_DEFAULTS[key];
}

/** struct panthor_file: the group pool and the client's VM. */
interface panthor_file {
  readonly handle: ClientHandle;
  vm: panthor_vm | null;
  /** GROUP_CREATE handles (gid -> group), as the pool xarray. */
  readonly groups: Map<number, panthor_group>;
  next_gid: number;
  /** The group whose queues create_queue hands out next, per priority. */
  readonly filling: Map<number, { group: panthor_group; gid: number; next_queue: number; open: number }>;
  /** The queue handles made on this file, in creation order (closed with it). */
  readonly handles: PanthorQueueHandle[];
  closed: boolean;
}

interface PanthorQueueHandle extends QueueHandle {
  readonly pfile: panthor_file;
  readonly kind: 'cs' | 'bind';
  readonly group: panthor_group | null;
  readonly gid: number;
  readonly queue_idx: number;
  readonly slot: { group: panthor_group; gid: number; next_queue: number; open: number } | null;
  open: boolean;
  /** Out-fence references of the jobs in flight; the jobs are out of reach of faults once the handle is closed (open false). */
  readonly out_fences: OutFenceRefs<PanthorJobHandle>;
}

interface PanthorJobHandle extends JobHandle {
  readonly job: PanthorJob | PanthorVmBindJob;
}

/** The harness device: panthor on one binding. */
export class PanthorDevice implements Device {
  readonly kernel: Kernel;
  readonly driver = 'panthor';
  readonly backend: Backend;
  readonly engines: readonly EngineClass[] = ['render', 'compute', 'copy', 'bind'];
  readonly reports_hw_start = true;
  readonly ptdev: panthor_device;
  readonly binding: PanthorBinding;
  readonly queues_per_group: number;
  readonly credits: number;
  private readonly files: panthor_file[] = [];
  /** Queue handles made so far on every file: the next one's id. */
  private handles_made = 0;
  private next_job = 0;

  constructor(kernel: Kernel, backend: Backend, options?: DeviceOptions) {
    this.kernel = kernel;
    this.backend = backend;
    this.binding = backend === 'sched' ? panthor_sched_binding : panthor_dep_binding(option(options, 'dep_flags'));
    this.queues_per_group = option(options, 'queues_per_group');
    const profile_mask = option(options, 'profiling');
    this.credits = calc_job_credits(profile_mask);
    this.ptdev = new panthor_device(kernel, this.binding, {
      csg_slots: option(options, 'csg_slots'), as_slots: option(options, 'as_slots'),
      ringbuf_size: option(options, 'ringbuf_size'), profile_mask,
    });
  }

  /** panthor_open(): the file, and its VM (VM_CREATE). */
  open_client(name: string): ClientHandle {
    const handle: ClientHandle = { id: this.files.length, name };
    const vm = panthor_vm_create(this.ptdev, `${name}/vm`);
    this.files.push({
      handle, vm: typeof vm === 'number' ? null : vm, groups: new Map(), next_gid: 1, filling: new Map(), handles: [], closed: false,
    });
    return handle;
  }

  private file(client: ClientHandle): panthor_file {
    return this.files[client.id];
  }

  create_queue(client: ClientHandle, options: QueueOptions): QueueHandle | number {
    const pfile = this.file(client);
    if (this.ptdev.unplugged) return -ENODEV;
    if (pfile === undefined || pfile.closed || pfile.vm === null) return -EINVAL;
    const id = this.handles_made;
    const base = { id, client, engine: options.engine, open: true, out_fences: new OutFenceRefs<PanthorJobHandle>(), pfile };
    if (options.engine === 'bind') {
      const h: PanthorQueueHandle = { ...base, name: `${client.name}/bind${id}`, kind: 'bind', group: null, gid: 0, queue_idx: 0, slot: null };
      this.handles_made++;
      pfile.handles.push(h);
      return h;
    }
    if (options.engine !== 'render' && options.engine !== 'compute' && options.engine !== 'copy') return -EINVAL;
    const priority = PRIORITY[options.priority];
    let slot = pfile.filling.get(priority);
    if (slot === undefined || slot.next_queue === this.queues_per_group || !group_can_run(slot.group)) {
      if (pfile.groups.size >= 128) return -EINVAL; // MAX_GROUPS_PER_POOL
      const gid = pfile.next_gid++;
      const group = panthor_group_create(this.ptdev, `${client.name}/g${gid}`, pfile.vm, priority, this.queues_per_group, this.ptdev.ringbuf_size);
      if (typeof group === 'number') return group;
      pfile.groups.set(gid, group);
      slot = { group, gid, next_queue: 0, open: 0 };
      pfile.filling.set(priority, slot);
    }
    const queue_idx = slot.next_queue++;
    slot.open++;
    const h: PanthorQueueHandle = {
      ...base, name: `${client.name}/g${slot.gid}q${queue_idx}`, kind: 'cs', group: slot.group, gid: slot.gid, queue_idx, slot,
    };
    this.handles_made++;
    pfile.handles.push(h);
    return h;
  }

  /** GROUP_SUBMIT (one queue_submit) or VM_BIND (one async op). */
  *submit(queue: QueueHandle, spec: JobSpec): Sleepable<JobHandle | number> {
    const h = queue as PanthorQueueHandle;
    if (this.ptdev.unplugged) return -ENODEV;
    if (!h.open || h.pfile.closed) return -EINVAL;
    const job = h.kind === 'cs' ? this.panthor_job_create(h, spec) : yield* this.panthor_vm_bind_job_create(h, spec);
    if (typeof job === 'number') return job;
    const b = this.binding;
    for (const dep of spec.deps) {
      const ret = b.job_add_dependency(job, dma_fence_get(dep));
      if (ret !== 0) {
        if (h.kind === 'cs') b.job_abort(job as PanthorJob);
        else yield* b.vm_job_put(job as PanthorVmBindJob);
        return ret;
      }
    }
    // drm_exec locks the VM resv (serialising arm/push per queue); arm; push.
    this.kernel.spend(this.kernel.cost.mutex_lock_ns.draw());
    b.job_arm(job);
    const out = b.job_finished_fence(job);
    // A CS job's ring entry reports its hardware start; VM_BIND ops run on the CPU in run_job.
    if (h.kind === 'cs') this.ptdev.hw_start?.armed((job as PanthorJob).hw, out);
    b.job_push(job);
    const handle: PanthorJobHandle = { id: this.next_job++, queue, out_fence: out, fence_context: out.context, fence_seqno: out.seqno, job };
    h.out_fences.add(handle);
    return handle;
  }

  /**
   * panthor_job_create(): validate the group (-EINVAL if it cannot run any more), allocate the
   * job and its done fence, compute the credits, drm_sched/drm_dep job init.
   */
  private panthor_job_create(h: PanthorQueueHandle, spec: JobSpec): PanthorJob | number {
    const k = this.kernel;
    const group = h.group!;
    if (!group_can_run(group) || !h.pfile.groups.has(h.gid)) return -EINVAL;
    k.spend(k.cost_of('panthor.job_create_ns', 1_000));
    const job = this.binding.job_alloc(this.ptdev);
    job.alloc = kmalloc(k, 256, GFP_KERNEL, 'panthor_job');
    job.queue_idx = h.queue_idx;
    job.group = group_get(group);
    job.call_size = spec.duration_ns === 0 ? 0 : 64;
    if (job.call_size !== 0) {
      job.done_fence = new dma_fence(k, 'panthor.done_fence');
      job.done_alloc = kmalloc(k, 64, GFP_KERNEL, 'panthor_job.done_fence');
      job.hw.duration_ns = spec.duration_ns === 'manual' ? 0 : spec.duration_ns;
      job.hw.manual = spec.duration_ns === 'manual';
      job.hw.hang = spec.hang === true;
    }
    job.credits = this.credits;
    const ret = this.binding.job_init(job, group.queues[h.queue_idx], this.credits, h.client.id);
    if (ret !== 0) {
      this.binding.job_free_uninit(job);
      return ret;
    }
    return job;
  }

  /** panthor_vm_bind_job_create(): one map/unmap op; its cost is the spec's duration. */
  private *panthor_vm_bind_job_create(h: PanthorQueueHandle, spec: JobSpec): Sleepable<PanthorVmBindJob | number> {
    const k = this.kernel;
    const vm = h.pfile.vm;
    if (vm === null || vm.destroyed) return -EINVAL;
    const job = this.binding.vm_job_alloc(this.ptdev);
    job.alloc = kmalloc(k, 256, GFP_KERNEL, 'panthor_vm_bind_job');
    job.op_ctx = kmalloc(k, 512, GFP_KERNEL, 'panthor_vm_op_ctx');
    job.vm = panthor_vm_get(vm);
    job.op_ns = typeof spec.duration_ns === 'number' ? spec.duration_ns : 0;
    const ret = this.binding.vm_job_init(job, vm, h.client.id);
    if (ret !== 0) {
      panthor_vm_cleanup_op_ctx(job);
      yield* panthor_vm_bind_job_release(job);
      return ret;
    }
    return job;
  }

  complete_manual(job: JobHandle): void {
    const h = job.queue as PanthorQueueHandle;
    if (!h.open || h.kind !== 'cs') return;
    const pj = (job as PanthorJobHandle).job as PanthorJob;
    panthor_fw_entry_complete_manual(pj.hw, h.group!.queues[pj.queue_idx].cs);
  }

  set_priority(_queue: QueueHandle, _priority: Priority): number {
    return -EOPNOTSUPP;
  }

  /** Close the handle; GROUP_DESTROY with the group's last open handle. Returns at once. */
  *destroy_queue(queue: QueueHandle): Sleepable<number> {
    const h = queue as PanthorQueueHandle;
    if (!h.open) return -EINVAL;
    h.open = false;
    h.out_fences.release_all();
    if (h.kind === 'cs' && h.slot !== null && --h.slot.open === 0) yield* this.group_destroy(h.pfile, h.gid);
    return 0;
  }

  /** GROUP_DESTROY: drop the handle from the pool and destroy the group. */
  private *group_destroy(pfile: panthor_file, gid: number): Sleepable {
    const group = pfile.groups.get(gid);
    if (group === undefined) return;
    pfile.groups.delete(gid);
    for (const [prio, slot] of pfile.filling) if (slot.gid === gid) pfile.filling.delete(prio);
    yield* panthor_group_destroy(group);
  }

  /** panthor_postclose(): destroy every group, then the VMs. Returns without waiting for the GPU. */
  *close_client(client: ClientHandle): Sleepable {
    const pfile = this.file(client);
    if (pfile === undefined || pfile.closed) return;
    pfile.closed = true;
    for (const h of pfile.handles) {
      if (!h.open) continue;
      h.open = false;
      h.out_fences.release_all();
    }
    for (const gid of [...pfile.groups.keys()]) yield* this.group_destroy(pfile, gid);
    const vm = pfile.vm;
    pfile.vm = null;
    if (vm !== null) {
      vm.destroyed = true;
      yield* panthor_vm_put(vm);
    }
  }

  inject_fault(fault: Fault): void {
    const k = this.kernel;
    switch (fault.kind) {
      case 'hang_job': {
        const h = fault.job.queue as PanthorQueueHandle;
        if (!h.open || h.kind !== 'cs') { k.tp('panthor_fault_unsupported', { kind: fault.kind }); return; }
        const pj = (fault.job as PanthorJobHandle).job as PanthorJob;
        if (pj.call_size === 0) return; // an empty stream has nothing to hang
        panthor_fw_entry_hang(pj.hw, h.group!.queues[pj.queue_idx].cs);
        return;
      }
      case 'engine_reset':
      case 'fw_error': {
        const h = fault.queue as PanthorQueueHandle;
        if (h.kind !== 'cs') { k.tp('panthor_fault_unsupported', { kind: fault.kind }); return; }
        const type = fault.kind === 'fw_error' ? DRM_PANTHOR_EXCEPTION_CS_UNRECOVERABLE : DRM_PANTHOR_EXCEPTION_CS_INSTR_INVALID;
        panthor_fw_cs_inject_fatal(h.group!.queues[h.queue_idx].cs, type);
        return;
      }
      case 'device_reset':
        panthor_device_schedule_reset(this.ptdev);
        return;
    }
  }

  *unplug(): Sleepable {
    yield* panthor_device_unplug(this.ptdev);
  }

  queue_state(queue: QueueHandle): QueueState {
    const h = queue as PanthorQueueHandle;
    const in_flight = h.out_fences.unsignalled();
    const group = h.group;
    const detail: Record<string, number | string | boolean> = { kind: h.kind };
    if (group !== null) {
      detail.group = group.name;
      detail.csg_id = group.csg_id;
      detail.timedout = group.timedout;
      detail.fatal_queues = group.fatal_queues;
      detail.innocent = group.innocent;
      detail.destroyed = group.destroyed;
      detail.residencies = group.residencies;
    }
    const banned = group !== null && !group_can_run(group) && !group.destroyed;
    return { alive: h.open && !banned, banned, jobs_in_flight: in_flight, detail };
  }
}

/** DeviceFactory: panthor on drm_sched ('sched') or on drm_dep ('dep'). */
export const panthor_device_factory: DeviceFactory = (kernel, backend, options) => new PanthorDevice(kernel, backend, options);

/** What the panthor device accepts (PanthorDeviceOptions), checked by the harness before a run. */
export const PANTHOR_OPTION_SCHEMA: DriverOptionSchema = {
  device: {
    csg_slots: { type: 'int', min: 1, max: 16 },
    as_slots: { type: 'int', min: 1, max: 15 },
    queues_per_group: { type: 'int', min: 1, max: 32 },
    ringbuf_size: { type: 'int', min: 4096, max: 65536, power_of_two: true },
    profiling: { type: 'int', min: 0, max: 3 },
    dep_flags: { type: 'int', min: 0, max: 3 },
  },
  queue: {},
  // create_queue: CS queues on render, compute and copy, VM_BIND queues on bind; -EINVAL for the rest.
  engines: ['render', 'compute', 'copy', 'bind'],
};
