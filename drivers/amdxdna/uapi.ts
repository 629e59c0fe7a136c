/**
 * The user-facing operations of amdxdna, implemented once over the binding interface
 * (amdxdna_ctx.ts aie2_binding) that on-sched.ts and on-dep.ts provide: the ioctls of
 * drivers/accel/amdxdna/amdxdna_ctx.c (CREATE_HWCTX, CONFIG_HWCTX, EXEC_CMD, DESTROY_HWCTX),
 * file open/close and device removal of amdxdna_pci_drv.c, and the harness Device over them.
 *
 * Mapping onto the common device interface (README "Device interface"):
 *   queue   = hardware context (CREATE_HWCTX + CONFIG_HWCTX(CU) -> READY); every engine class
 *             maps onto the NPU's only one, compute;
 *   submit  = EXEC_CMD with one command BO; dependencies are waited for by the submitting
 *             thread before the ioctl (userspace waits on syncobj points: the ioctl takes no
 *             in-fences), except those on the same hwctx, which its FIFO already orders;
 *   close   = Ctrl-C: the signal interrupts the process's sleeping ioctls (-EINTR), exit_mm
 *             drops the process's mm user, then the file release (postclose) runs in the
 *             exiting task and destroys every hwctx synchronously;
 *   faults  = hang_job (the NPU never answers), fw_error (the next command of the context
 *             reports an error status); engine_reset and device_reset do not exist on amdxdna.
 */
import {
  EBUSY, EINTR, EINVAL, ENODEV, ENOMEM, GFP_KERNEL, dma_fence_add_callback, dma_fence_cb, dma_fence_put,
  dma_fence_remove_callback, kfree, kmalloc, mutex_lock_sleepable, mutex_trylock, mutex_unlock,
  wait_queue_head, type Kernel, type Sleepable, type dma_fence,
} from '@deplab/sim';
import {
  OutFenceRefs,
  type Backend, type ClientHandle, type Device, type DeviceFactory, type DeviceOptions, type EngineClass, type Fault, type JobHandle, type JobSpec,
  type Priority, type QueueHandle, type QueueOptions, type QueueState,
} from '@deplab/driver-api';
import type { DriverOptionSchema } from '@deplab/driver-api';
import {
  HWCTX_STAT_READY, MAX_HWCTX_ID, XDNA_ERAS, amdxdna_client, amdxdna_dev, amdxdna_fence_create,
  amdxdna_hwctx, mmput, srcu_read_lock, srcu_read_unlock, synchronize_srcu,
  type aie2_binding, type xdna_era, type xdna_options,
} from './amdxdna_ctx.ts';
import { aie2_hwctx_cu_config, aie2_job_kfree } from './aie2_ctx.ts';
import {
  AIE2_STATUS_AIE_INSTRUCTION_ERROR, amdxdna_cmd_bo, npu_cmd_complete_manual, npu_cmd_hang, npu_device,
  npu_fw_ctx_inject_error,
} from './hw.ts';
import { aie2_mgmt_channel_create, aie2_mgmt_channel_destroy, xdna_mailbox } from './mailbox.ts';
import { aie2_sched_binding } from './on-sched.ts';
import { aie2_dep_binding } from './on-dep.ts';

const EOPNOTSUPP = 95;
const AMDXDNA_CLIENT_SIZE = 512;
const AMDXDNA_HWCTX_SIZE = 512;

/* ------------------------------------------------------------------------------------------ */
/* amdxdna_pci_drv.c: open, close, remove                                                       */

/** amdxdna_drm_open: a client for a new DRM file. */
export function amdxdna_drm_open(xdna: amdxdna_dev, id: number, name: string): amdxdna_client {
  const client = new amdxdna_client(xdna, id, name);
  client.alloc = kmalloc(xdna.kernel, AMDXDNA_CLIENT_SIZE, GFP_KERNEL, 'amdxdna_client');
  xdna.client_list.push(client);
  return client;
}

/**
 * amdxdna_hwctx_destroy_rcu: wait until no submit ioctl uses the hwctx (synchronize_srcu),
 * then hwctx_fini, then free it. 7.0: the caller holds dev_lock (amdxdna_ctx.c @1aa82181);
 * 6.18: taken here around hwctx_fini. May sleep.
 */
function* amdxdna_hwctx_destroy_rcu(hwctx: amdxdna_hwctx): Sleepable {
  const xdna = hwctx.client.xdna;
  const locks = xdna.options.era === '6.18';
  yield* synchronize_srcu(hwctx.client.hwctx_srcu);
  if (locks) yield* mutex_lock_sleepable(xdna.dev_lock, 'amdxdna_hwctx_destroy_rcu: mutex_lock(&xdna->dev_lock)');
  yield* xdna.binding.hwctx_fini(hwctx);
  if (locks) mutex_unlock(xdna.dev_lock);
  kfree(xdna.kernel, hwctx.alloc);
}

/** The lock the 7.0 callers of amdxdna_hwctx_destroy_rcu take (none in 6.18: it takes dev_lock itself). */
function* dev_lock_7_0(xdna: amdxdna_dev, site: string): Sleepable {
  if (xdna.options.era === '7.0') yield* mutex_lock_sleepable(xdna.dev_lock, site);
}

function dev_unlock_7_0(xdna: amdxdna_dev): void {
  if (xdna.options.era === '7.0') mutex_unlock(xdna.dev_lock);
}

/** amdxdna_hwctx_remove_all: destroy every hwctx of the client (close and remove only). May sleep. */
export function* amdxdna_hwctx_remove_all(client: amdxdna_client): Sleepable {
  for (const [id, hwctx] of [...client.hwctx_xa]) {
    client.hwctx_xa.delete(id);
    yield* amdxdna_hwctx_destroy_rcu(hwctx);
  }
}

/** drm_dev_enter: false once the device is unplugged; else a read-side section drm_dev_unplug waits for. */
function drm_dev_enter(xdna: amdxdna_dev): boolean {
  if (xdna.unplugged) return false;
  srcu_read_lock(xdna.unplug_srcu);
  return true;
}

function drm_dev_exit(xdna: amdxdna_dev): void {
  srcu_read_unlock(xdna.unplug_srcu, 0);
}

/** drm_dev_unplug: no new drm_dev_enter succeeds; wait for the sections in progress. May sleep. */
function* drm_dev_unplug(xdna: amdxdna_dev): Sleepable {
  xdna.unplugged = true;
  yield* synchronize_srcu(xdna.unplug_srcu);
}

/**
 * amdxdna_client_cleanup: take the client off the device list, destroy every hwctx
 * synchronously, free the client (7.0: here, under dev_lock, by close or by remove; 6.18: by
 * close only). May sleep.
 */
function* amdxdna_client_cleanup(client: amdxdna_client): Sleepable {
  const xdna = client.xdna;
  const i = xdna.client_list.indexOf(client);
  if (i >= 0) xdna.client_list.splice(i, 1);
  yield* amdxdna_hwctx_remove_all(client);
  if (xdna.options.era === '7.0') amdxdna_client_free(client);
}

function amdxdna_client_free(client: amdxdna_client): void {
  kfree(client.xdna.kernel, client.alloc);
  client.alloc = null;
}

/**
 * amdxdna_drm_close: postclose (7.0; 6.18's .flush did the same work) inside drm_dev_enter,
 * with dev_lock (7.0; 6.18 takes it per hwctx): amdxdna_client_cleanup. After an unplug,
 * remove already destroyed the hwctxs (and in 7.0 freed the client). May sleep.
 */
export function* amdxdna_drm_close(client: amdxdna_client): Sleepable {
  const xdna = client.xdna;
  if (drm_dev_enter(xdna)) {
    yield* dev_lock_7_0(xdna, 'amdxdna_drm_close: mutex_lock(&xdna->dev_lock)');
    yield* amdxdna_client_cleanup(client);
    dev_unlock_7_0(xdna);
    drm_dev_exit(xdna);
  }
  if (xdna.options.era === '6.18') amdxdna_client_free(client);
}

/**
 * amdxdna_remove: drm_dev_unplug (new ioctls fail with -ENODEV; closes and hwctx ioctls in
 * progress are waited for), then under dev_lock every remaining client cleaned up (6.18: dev_lock
 * dropped around each client, its hwctx destroy takes it), then the binding's device fini
 * (drm_dep: the unload barrier) with dev_lock dropped, then under dev_lock the management
 * channel. May sleep.
 *
 * Deviation: upstream runs ops->fini under dev_lock. The barrier cannot go there: it waits
 * for every queue's last job reference, and a timeout handler holding one sleeps on dev_lock
 * (README D7, docs/findings.md).
 */
export function* amdxdna_remove(xdna: amdxdna_dev): Sleepable {
  yield* drm_dev_unplug(xdna);
  const site = 'amdxdna_remove: mutex_lock(&xdna->dev_lock)';
  const relock = xdna.options.era === '6.18';
  yield* mutex_lock_sleepable(xdna.dev_lock, site);
  for (let client = xdna.client_list[0]; client !== undefined; client = xdna.client_list[0]) {
    if (relock) mutex_unlock(xdna.dev_lock);
    yield* amdxdna_client_cleanup(client);
    if (relock) yield* mutex_lock_sleepable(xdna.dev_lock, site);
  }
  mutex_unlock(xdna.dev_lock);
  yield* xdna.binding.device_fini(xdna);
  yield* mutex_lock_sleepable(xdna.dev_lock, site);
  yield* aie2_mgmt_channel_destroy(xdna);
  mutex_unlock(xdna.dev_lock);
}

/* ------------------------------------------------------------------------------------------ */
/* amdxdna_ctx.c: the hwctx and submit ioctls                                                   */

/**
 * amdxdna_drm_create_hwctx_ioctl + CONFIG_HWCTX(CU): a READY hwctx, or a negative errno.
 * Does not sleep (the Device interface's create_queue is not a generator): dev_lock is only
 * tried (-EBUSY if held, e.g. by a running timeout recovery) and the firmware's creation
 * round trips take no simulated time.
 */
export function amdxdna_drm_create_hwctx_ioctl(client: amdxdna_client): amdxdna_hwctx | number {
  const xdna = client.xdna;
  const k = xdna.kernel;
  if (!drm_dev_enter(xdna)) return -ENODEV;
  const ret = amdxdna_create_hwctx(client);
  drm_dev_exit(xdna);
  return ret;
}

function amdxdna_create_hwctx(client: amdxdna_client): amdxdna_hwctx | number {
  const xdna = client.xdna;
  const k = xdna.kernel;
  let id = 0;
  for (let n = 0; n < MAX_HWCTX_ID && id === 0; n++) {
    const candidate = ((client.next_hwctxid - 1 + n) % MAX_HWCTX_ID) + 1; // xa_alloc_cyclic 1..255
    if (!client.hwctx_xa.has(candidate)) id = candidate;
  }
  if (id === 0) return -EBUSY;
  client.next_hwctxid = (id % MAX_HWCTX_ID) + 1;
  const hwctx = new amdxdna_hwctx(client, id);
  hwctx.alloc = kmalloc(k, AMDXDNA_HWCTX_SIZE, GFP_KERNEL, 'amdxdna_hwctx');
  if (hwctx.alloc === null) return -ENOMEM;
  if (!mutex_trylock(xdna.dev_lock)) {
    k.tp('amdxdna_model', { what: 'create_hwctx: dev_lock held, not sleeping (Device.create_queue cannot)' });
    kfree(k, hwctx.alloc);
    return -EBUSY;
  }
  let ret = xdna.binding.hwctx_init(hwctx);
  if (ret === 0) ret = aie2_hwctx_cu_config(hwctx);
  mutex_unlock(xdna.dev_lock);
  if (ret !== 0) {
    kfree(k, hwctx.alloc);
    return ret;
  }
  client.hwctx_xa.set(id, hwctx);
  return hwctx;
}

/**
 * amdxdna_drm_destroy_hwctx_ioctl: xa_erase, then the synchronous destroy; 7.0 holds dev_lock
 * across both (so synchronize_srcu waits for a sleeping submitter under it). May sleep.
 */
export function* amdxdna_drm_destroy_hwctx_ioctl(client: amdxdna_client, handle: number): Sleepable<number> {
  const xdna = client.xdna;
  if (!drm_dev_enter(xdna)) return -ENODEV;
  yield* dev_lock_7_0(xdna, 'amdxdna_drm_destroy_hwctx_ioctl: mutex_lock(&xdna->dev_lock)');
  const hwctx = client.hwctx_xa.get(handle);
  let ret = -EINVAL;
  if (hwctx !== undefined) {
    client.hwctx_xa.delete(handle);
    yield* amdxdna_hwctx_destroy_rcu(hwctx);
    ret = 0;
  }
  dev_unlock_7_0(xdna);
  drm_dev_exit(xdna);
  return ret;
}

/**
 * amdxdna_cmd_submit (EXEC_CMD): allocate the job, find the hwctx under SRCU, require READY,
 * make the HW fence, hand over to the binding's cmd_submit (which may sleep on job_sem).
 * Returns 0 with a reference to the out fence in `out.fence`, or a negative errno.
 */
export function* amdxdna_cmd_submit(client: amdxdna_client, cmd_bo: amdxdna_cmd_bo, hwctx_hdl: number,
  out: { fence: dma_fence | null; seq: number }): Sleepable<number> {
  const xdna = client.xdna;
  const k = xdna.kernel;
  k.spend(k.cost_of('amdxdna.submit_ioctl_ns', 2_000));
  const job = xdna.binding.job_alloc(k);
  if (job === null) return -ENOMEM;
  job.cmd_bo = cmd_bo;
  const idx = srcu_read_lock(client.hwctx_srcu);
  const hwctx = client.hwctx_xa.get(hwctx_hdl);
  let ret = 0;
  if (hwctx === undefined || hwctx.status !== HWCTX_STAT_READY) ret = -EINVAL;
  else {
    k.lifetime.use(hwctx.alloc!.id, 'amdxdna_cmd_submit: hwctx');
    job.hwctx = hwctx;
    job.mm = client.mm;
    job.fence = amdxdna_fence_create(hwctx);
    ret = yield* xdna.binding.cmd_submit(hwctx, job, out);
    if (ret === 0) out.seq = job.seq;
    else dma_fence_put(job.fence);
  }
  srcu_read_unlock(client.hwctx_srcu, idx);
  if (ret !== 0) {
    aie2_job_kfree(job); // amdxdna_cmd_submit's error path: kfree, no put
    return ret;
  }
  if (k.trace.enabled) k.tp('amdxdna_debug_point', { name: hwctx!.name, seq: out.seq, str: 'job pushed' });
  return 0;
}


/* ------------------------------------------------------------------------------------------ */
/* Userspace (XRT) waiting on a fence before it submits                                        */

function host_wait_wake(_fence: dma_fence, cb: dma_fence_cb): void {
  const client = cb.owner as amdxdna_client;
  client.xdna.kernel.wake_up(client.host_wait);
}

/** The submitting thread waits for `fence` (a syncobj wait); -EINTR if the process is signalled. */
function* xrt_wait_fence(client: amdxdna_client, fence: dma_fence): Sleepable<number> {
  if (fence.signaled) return 0;
  if (client.signalled) return -EINTR;
  const k = client.xdna.kernel;
  const cb = new dma_fence_cb(client);
  if (dma_fence_add_callback(fence, cb, host_wait_wake) !== 0) return 0;
  yield* k.wait_until(client.host_wait, () => fence.signaled || client.signalled);
  if (cb.linked !== null) dma_fence_remove_callback(fence, cb);
  return fence.signaled ? 0 : -EINTR;
}

/** exit_mm of the client's process: its own mm user goes (once). */
function amdxdna_exit_mm(client: amdxdna_client): void {
  if (client.mm_exited) return;
  client.mm_exited = true;
  mmput(client.mm);
}

/* ------------------------------------------------------------------------------------------ */
/* The harness device                                                                            */

interface XdnaJobHandle extends JobHandle {
  readonly cmd: amdxdna_cmd_bo;
  readonly seq: number;
}

interface XdnaQueue extends QueueHandle {
  readonly hwctx: amdxdna_hwctx;
  /** The file it was created on. */
  readonly file: XdnaClient;
  alive: boolean;
  readonly out_fences: OutFenceRefs;
}

interface XdnaClient extends ClientHandle {
  readonly xclient: amdxdna_client;
  closed: boolean;
  /** Submit ioctls in progress: each holds a reference on the file (fdget), so release waits for them. */
  ioctls: number;
  readonly ioctls_done: wait_queue_head;
  /** The queues made on this file, so that its close does not walk every file's. */
  readonly queues: XdnaQueue[];
}

const OPTION_KEYS = ['era', 'upstream_gfp', 'dep_flags', 'dep_abort_error', 'close_is_exit'] as const;

function parse_options(options: DeviceOptions | undefined): xdna_options {
  const d = options?.driver ?? {};
  for (const key of Object.keys(d)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key)) throw new RangeError(`amdxdna: unknown device option ${key} (known: ${OPTION_KEYS.join(', ')})`);
  }
  const bool = (key: string, dflt: boolean): boolean => {
    const v = d[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') throw new RangeError(`amdxdna: option ${key} must be a boolean`);
    return v;
  };
  const int = (key: string, dflt: number): number => {
    const v = d[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new RangeError(`amdxdna: option ${key} must be an integer`);
    return v;
  };
  const era = d.era ?? '7.0';
  if (!(XDNA_ERAS as readonly unknown[]).includes(era)) {
    throw new RangeError(`amdxdna: option era must be one of ${XDNA_ERAS.map((e) => `'${e}'`).join(', ')} (got ${JSON.stringify(era)})`);
  }
  return {
    era: era as xdna_era,
    upstream_gfp: bool('upstream_gfp', true),
    dep_flags: int('dep_flags', 0),
    dep_abort_error: int('dep_abort_error', 0),
    close_is_exit: bool('close_is_exit', true),
  };
}

/** The amdxdna NPU as a harness device on either binding. */
export class AmdxdnaDevice implements Device {
  readonly kernel: Kernel;
  readonly driver = 'amdxdna';
  readonly backend: Backend;
  readonly engines: readonly EngineClass[] = ['compute'];
  readonly reports_hw_start = true;
  readonly xdna: amdxdna_dev;
  private readonly queues: XdnaQueue[] = [];
  /** Every job's command BO and seq, also after its queue is gone (tests read the final state). */
  private readonly clients: XdnaClient[] = [];
  private next_job = 0;
  private removed = false;

  constructor(kernel: Kernel, backend: Backend, options?: DeviceOptions) {
    this.kernel = kernel;
    this.backend = backend;
    const opts = parse_options(options);
    const binding: aie2_binding = backend === 'sched' ? aie2_sched_binding : aie2_dep_binding;
    const npu = new npu_device(kernel, kernel.cost_of('amdxdna.fw_mgmt_msg_ns', 500_000), kernel.cost_of('amdxdna.fw_dispatch_ns', 10_000));
    const mbox = new xdna_mailbox(kernel, npu, opts.upstream_gfp);
    this.xdna = new amdxdna_dev(kernel, npu, mbox, binding, opts);
    this.xdna.mgmt_chann = aie2_mgmt_channel_create(mbox);
  }

  open_client(name: string): ClientHandle {
    const id = this.clients.length;
    const c: XdnaClient = { id, name, xclient: amdxdna_drm_open(this.xdna, id, name), closed: false, ioctls: 0, ioctls_done: new wait_queue_head(), queues: [] };
    this.clients.push(c);
    return c;
  }

  create_queue(client: ClientHandle, options: QueueOptions): QueueHandle | number {
    const c = client as XdnaClient;
    if (c.closed) return -EINVAL;
    const hwctx = amdxdna_drm_create_hwctx_ioctl(c.xclient);
    if (typeof hwctx === 'number') return hwctx;
    const q: XdnaQueue = {
      id: this.queues.length, name: `${client.name}/${hwctx.name}`, client, engine: options.engine,
      hwctx, file: c, alive: true, out_fences: new OutFenceRefs(),
    };
    this.queues.push(q);
    c.queues.push(q);
    return q;
  }

  *submit(queue: QueueHandle, spec: JobSpec): Sleepable<JobHandle | number> {
    const c = (queue as XdnaQueue).file;
    c.ioctls++;
    try {
      return yield* this.submit_ioctl(queue as XdnaQueue, spec);
    } finally {
      if (--c.ioctls === 0) this.kernel.wake_up(c.ioctls_done);
    }
  }

  private *submit_ioctl(q: XdnaQueue, spec: JobSpec): Sleepable<JobHandle | number> {
    const client = q.file.xclient;
    if (this.xdna.unplugged) return -ENODEV;
    if (q.alive) {
      const own = this.xdna.binding.out_fence_context(q.hwctx);
      for (const dep of spec.deps) {
        if (dep.context === own) continue; // the hwctx FIFO orders it already
        const r = yield* xrt_wait_fence(client, dep);
        if (r !== 0) return r;
      }
    }
    const cmd = new amdxdna_cmd_bo();
    if (spec.hang === true) cmd.hang = true;
    if (spec.duration_ns === 'manual') cmd.manual = true;
    else cmd.exec_ns = Math.max(0, Math.round(spec.duration_ns));
    const out = { fence: null as dma_fence | null, seq: -1 };
    const ret = yield* amdxdna_cmd_submit(client, cmd, q.hwctx.id, out);
    if (ret !== 0) return ret;
    const fence = out.fence!;
    const handle: XdnaJobHandle = { id: this.next_job++, queue: q, out_fence: fence, fence_context: fence.context, fence_seqno: fence.seqno, cmd, seq: out.seq };
    q.out_fences.add(handle);
    return handle;
  }

  complete_manual(job: JobHandle): void {
    const entry = this.entry(job);
    if (entry !== null) npu_cmd_complete_manual(entry.cmd);
  }

  set_priority(_queue: QueueHandle, _priority: Priority): number {
    return -EOPNOTSUPP; // QoS is fixed at CREATE_HWCTX; there is no priority ioctl
  }

  *destroy_queue(queue: QueueHandle): Sleepable<number> {
    const q = queue as XdnaQueue;
    if (!q.alive) return -EINVAL;
    const ret = yield* amdxdna_drm_destroy_hwctx_ioctl(q.file.xclient, q.hwctx.id);
    if (ret === 0 || this.xdna.unplugged) this.forget(q);
    return ret;
  }

  /**
   * Ctrl-C: the signal interrupts the process's threads sleeping in the submit ioctl (job_sem)
   * or in a userspace fence wait; exit_mm drops the process's mm user (commands that reach
   * run_job afterwards fail with -ESRCH, unless an in-flight one still pins the mm); then the
   * file release runs in the exiting task (PF_EXITING: drm_sched's entity flush waits at most
   * 1 s; exit code SIGINT, not SIGKILL, so no entity kill). With option close_is_exit false it
   * is a plain close() by a live process.
   */
  *close_client(client: ClientHandle): Sleepable {
    const c = client as XdnaClient;
    if (c.closed) return;
    c.closed = true;
    const xc = c.xclient;
    const k = this.kernel;
    const task = k.current_task();
    const was_exiting = task?.exiting ?? false;
    if (this.xdna.options.close_is_exit) {
      xc.signalled = true;
      for (const hwctx of xc.hwctx_xa.values()) if (hwctx.priv !== null) k.wake_up(hwctx.priv.job_sem.wait);
      k.wake_up(xc.host_wait);
      amdxdna_exit_mm(xc);
      if (task !== null) task.exiting = true;
    }
    // The file's release runs when its last reference goes: after the submit ioctls in
    // progress return (fdget holds one each). An exiting process's signal interrupts them first.
    if (c.ioctls > 0) yield* k.wait_until(c.ioctls_done, () => c.ioctls === 0);
    yield* amdxdna_drm_close(xc);
    if (task !== null) task.exiting = was_exiting;
    for (const q of c.queues) if (q.alive) this.forget(q);
  }

  inject_fault(fault: Fault): void {
    const k = this.kernel;
    switch (fault.kind) {
      case 'hang_job': {
        const entry = this.entry(fault.job);
        if (entry !== null) npu_cmd_hang(entry.cmd);
        return;
      }
      case 'fw_error': {
        const q = fault.queue as XdnaQueue;
        if (q.alive) npu_fw_ctx_inject_error(this.xdna.npu, q.hwctx.fw_ctx_id, AIE2_STATUS_AIE_INSTRUCTION_ERROR);
        return;
      }
      default:
        k.tp('amdxdna_fault_unsupported', { kind: fault.kind });
    }
  }

  *unplug(): Sleepable {
    if (this.removed) return;
    this.removed = true;
    yield* amdxdna_remove(this.xdna);
    // Every queue, dead ones too: a submit that slept through the close still returned a job.
    for (const q of this.queues) this.forget(q);
  }

  queue_state(queue: QueueHandle): QueueState {
    const q = queue as XdnaQueue;
    const in_flight = q.out_fences.unsignalled();
    const priv = q.alive ? q.hwctx.priv : null;
    return {
      alive: q.alive, banned: false, jobs_in_flight: in_flight,
      detail: {
        fw_ctx_id: q.alive ? q.hwctx.fw_ctx_id : -1, recoveries: q.hwctx.recoveries,
        job_sem: priv !== null ? priv.job_sem.count : -1, status: q.hwctx.status,
      },
    };
  }

  /* -- amdxdna-specific controls (tests and driver-specific workloads) -------------------- */

  /** The ERT state word userspace reads from the job's command BO. */
  cmd_state(job: JobHandle): number {
    return this.entry(job)?.cmd.state ?? 0;
  }

  /** Whether the NPU ever started executing the job's command. */
  cmd_started(job: JobHandle): boolean {
    return (this.entry(job)?.cmd.started_ns ?? -1) >= 0;
  }

  /** The timeline point (seq) EXEC_CMD returned for the job. */
  cmd_seq(job: JobHandle): number {
    return this.entry(job)?.seq ?? -1;
  }

  /** The next mailbox send on the queue's context fails with `error` (e.g. -ENOSPC): run_job returns ERR_PTR. */
  inject_send_error(queue: QueueHandle, error: number): boolean {
    const q = queue as XdnaQueue;
    const chann = q.alive ? q.hwctx.priv?.mbox_chann ?? null : null;
    if (chann === null || error >= 0) return false;
    chann.send_error = error;
    return true;
  }

  /** The client's process drops its mm (exit_mm) while it keeps the file open. */
  exit_mm(client: ClientHandle): void {
    amdxdna_exit_mm((client as XdnaClient).xclient);
  }

  /** The job's command, if this device made the handle. */
  private entry(job: JobHandle): XdnaJobHandle | null {
    return 'cmd' in job ? (job as XdnaJobHandle) : null;
  }

  /**
   * The queue is gone: drop the out-fence references the device kept for the harness. Again
   * at unplug for jobs a submit ioctl returned after the close forgot the queue.
   */
  private forget(q: XdnaQueue): void {
    q.alive = false;
    q.out_fences.release_all();
  }
}

/** The amdxdna device factory: backend 'sched' binds aie2 to drm_sched, 'dep' to drm_dep. */
export const amdxdna_device: DeviceFactory = (kernel, backend, options) => new AmdxdnaDevice(kernel, backend, options);

/** What the amdxdna device accepts (parse_options), checked by the harness before a run. */
export const AMDXDNA_OPTION_SCHEMA: DriverOptionSchema = {
  device: {
    era: { type: 'enum', values: XDNA_ERAS },
    upstream_gfp: { type: 'bool' },
    close_is_exit: { type: 'bool' },
    dep_flags: { type: 'int', min: 0, max: 3 },
    dep_abort_error: { type: 'int', min: -4095, max: 0 },
  },
  queue: {},
  // A hardware context takes any engine class: the class only names the queue.
  engines: ['render', 'copy', 'video', 'video_enhance', 'compute', 'bind'],
};
