/**
 * The driver half of the NPU transport, shared by both bindings and knowing nothing of either
 * scheduler: drivers/accel/amdxdna/amdxdna_mailbox.c @6ff9385c (channels: send, MSI-X handler,
 * rx work, stop/destroy), amdxdna_mailbox_helper.c (xdna_send_msg_wait) and the context half of
 * aie2_message.c @00ffe45e (create/destroy context, map host buffer, config CU, execbuf). These
 * paths are the same in both eras; 7.0 sends commands as one-entry command chains
 * (force_cmdlist, aie2_cmdlist_single_execbuf), which the model does not tell apart from
 * EXECUTE_BUFFER (same response states).
 *
 * Completion path of a command, as upstream: firmware response -> MSI-X (hardirq:
 * mailbox_irq_handler queues rx_work) -> mailbox_rx_worker on the channel's single-threaded
 * workqueue -> the message's notify_cb (the binding's response handler) with the status word.
 * A channel destroyed with messages outstanding calls each notify_cb with NULL data (here
 * `null`): that is how a context destroy cancels in-flight commands.
 *
 * Deviations (README): the response payload is the status word only; ring space, message-id
 * exhaustion and the 200 ms rx poll are not modelled; `xdna.upstream_gfp` false replaces the
 * per-message kzalloc(GFP_KERNEL) with a preallocated message (see README "Assumptions").
 */
import {
  ECANCELED, EINVAL, ENODEV, ETIME, GFP_KERNEL, INIT_WORK, WQ_MEM_RECLAIM, alloc_ordered_workqueue,
  cancel_work_sync, complete, completion, destroy_workqueue, kfree, kmalloc, queue_work,
  wait_for_completion_timeout, type Allocation, type Kernel, type Sleepable, type work_struct,
  type workqueue_struct,
} from '@deplab/sim';
import {
  AIE2_STATUS_SUCCESS, MSG_OP_CONFIG_CU, MSG_OP_CREATE_CONTEXT, MSG_OP_DESTROY_CONTEXT,
  MSG_OP_EXECUTE_BUFFER_CF, MSG_OP_MAP_HOST_BUFFER, npu_fw_ctx_rings, npu_fw_doorbell, npu_mgmt_execute,
  type amdxdna_cmd_bo, type mailbox_ring_pair, type npu_device,
} from './hw.ts';

const EPIPE = 32;
/** amdxdna_mailbox_helper.h: RX_TIMEOUT, the wait for a management response (ms). */
export const RX_TIMEOUT_MS = 5000;
/** sizeof(struct mailbox_msg) + an execute_buffer_req package (16 + 80 bytes). */
const MAILBOX_MSG_SIZE = 144;
const MAILBOX_CHANNEL_SIZE = 256;
/**
 * The allocation sites, named by function and upstream file (amdxdna_mailbox.c @6ff9385c, as
 * in 7.0): the kmalloc tag becomes the lockdep site `kmalloc(<tag>, GFP_KERNEL)`, which
 * violation triage groups by.
 */
const MAILBOX_MSG_TAG = 'struct mailbox_msg in xdna_mailbox_send_msg() of drivers/accel/amdxdna/amdxdna_mailbox.c';
const MAILBOX_CHANNEL_TAG = 'struct mailbox_channel in xdna_mailbox_create_channel() of drivers/accel/amdxdna/amdxdna_mailbox.c';

/** Per-message handler: `data` is the response status word, or null when the channel is destroyed. */
export type mailbox_notify_cb = (handle: any, data: number | null, value: number) => number;

/** struct mailbox_msg: the host's record of one outstanding request. */
export class mailbox_msg {
  handle: unknown = null;
  notify_cb: mailbox_notify_cb | null = null;
  opcode = 0;
  id = 0;
  alloc: Allocation | null = null;
}

/** The device-level mailbox (struct mailbox) plus what every channel needs to know. */
export class xdna_mailbox {
  readonly kernel: Kernel;
  readonly npu: npu_device;
  /** Model the per-message kzalloc(GFP_KERNEL) of xdna_mailbox_send_msg (upstream). */
  readonly upstream_gfp: boolean;
  /** CPU cost of consuming one response in the rx worker (MMIO reads), ns. */
  readonly rx_msg_ns: number;
  /** CPU cost of writing one request into the x2i ring (memcpy_toio + tail write), ns. */
  readonly tx_msg_ns: number;
  /** CPU cost of the MSI-X handler's IOHUB register write, ns. */
  readonly irq_ns: number;

  constructor(kernel: Kernel, npu: npu_device, upstream_gfp: boolean) {
    this.kernel = kernel;
    this.npu = npu;
    this.upstream_gfp = upstream_gfp;
    this.rx_msg_ns = kernel.cost_of('amdxdna.rx_msg_ns', 1_000);
    this.tx_msg_ns = kernel.cost_of('amdxdna.tx_msg_ns', 500);
    this.irq_ns = kernel.cost_of('amdxdna.irq_ns', 200);
  }
}

/** struct mailbox_channel: one cq_pair, its MSI-X vector, its rx work and outstanding messages. */
export class mailbox_channel {
  readonly mb: xdna_mailbox;
  readonly rings: mailbox_ring_pair;
  readonly name: string;
  readonly work_q: workqueue_struct;
  readonly rx_work: work_struct;
  /** chan_xa: outstanding messages by id. */
  readonly chan_xa = new Map<number, mailbox_msg>();
  next_msgid = 0;
  bad_state = false;
  destroyed = false;
  alloc: Allocation | null = null;
  /** The channel as a kernel object (also without upstream_gfp): one left after teardown is a leak. */
  readonly lifetime_id: number;
  /** Fault injection: the next send fails with this negative errno (0: none). */
  send_error = 0;

  constructor(mb: xdna_mailbox, rings: mailbox_ring_pair, name: string) {
    this.mb = mb;
    this.rings = rings;
    this.name = name;
    this.work_q = alloc_ordered_workqueue(mb.kernel, 'xdna_mailbox', WQ_MEM_RECLAIM);
    this.rx_work = INIT_WORK(mb.kernel, mailbox_rx_worker, '&mb_chann->rx_work', this);
    this.lifetime_id = mb.kernel.lifetime.track('mailbox_channel', name);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* amdxdna_mailbox.c                                                                            */

/** mailbox_irq_handler (hardirq): queue the rx work, clear the IOHUB register. */
function mailbox_irq_handler(chann: mailbox_channel): void {
  const k = chann.mb.kernel;
  if (chann.destroyed) return;
  if (k.trace.enabled) k.tp('amdxdna_mbox_irq_handle', { chann: chann.name });
  queue_work(chann.work_q, chann.rx_work);
  k.spend(chann.mb.irq_ns);
}

/** mailbox_get_resp: find the message of `id`, call its handler, free it. */
function mailbox_get_resp(chann: mailbox_channel, id: number, status: number, value: number): void {
  const msg = chann.chan_xa.get(id);
  if (msg === undefined) {
    chann.mb.kernel.tp('amdxdna_mbox_err', { chann: chann.name, id, what: 'Cannot find msg' });
    return;
  }
  chann.chan_xa.delete(id);
  msg.notify_cb!(msg.handle, status, value);
  mailbox_msg_free(chann.mb, msg);
}

/** mailbox_rx_worker (the channel's single-threaded workqueue): drain the i2x ring. */
function mailbox_rx_worker(work: work_struct): void {
  const chann = work.owner as mailbox_channel;
  const k = chann.mb.kernel;
  if (chann.bad_state) return;
  const ring = chann.rings.i2x;
  for (let i = 0; i < ring.length; i++) {
    const r = ring[i];
    k.spend(chann.mb.rx_msg_ns);
    if (k.trace.enabled) k.tp('amdxdna_mbox_set_head', { chann: chann.name, id: r.id });
    mailbox_get_resp(chann, r.id, r.status, r.value);
  }
  ring.length = 0;
}

function mailbox_msg_alloc(mb: xdna_mailbox): mailbox_msg | null {
  const msg = new mailbox_msg();
  if (mb.upstream_gfp) {
    msg.alloc = kmalloc(mb.kernel, MAILBOX_MSG_SIZE, GFP_KERNEL, MAILBOX_MSG_TAG);
    if (msg.alloc === null) return null;
  }
  return msg;
}

function mailbox_msg_free(mb: xdna_mailbox, msg: mailbox_msg): void {
  if (msg.alloc !== null) kfree(mb.kernel, msg.alloc);
  msg.alloc = null;
}

/**
 * xdna_mailbox_send_msg: allocate the message record (kzalloc GFP_KERNEL upstream), take a
 * message id, write the request into the x2i ring. Returns 0 or a negative errno (-EPIPE for a
 * channel in bad state, -ENOMEM, or an injected send error). The firmware sees it at once.
 */
export function xdna_mailbox_send_msg(chann: mailbox_channel, opcode: number, handle: unknown, notify_cb: mailbox_notify_cb,
  cmd: amdxdna_cmd_bo | null, arg: number): number {
  const mb = chann.mb;
  const k = mb.kernel;
  if (chann.bad_state || chann.destroyed) return -EPIPE;
  const msg = mailbox_msg_alloc(mb);
  if (msg === null) return -12; // -ENOMEM
  msg.handle = handle;
  msg.notify_cb = notify_cb;
  msg.opcode = opcode;
  msg.id = chann.next_msgid++;
  if (chann.send_error !== 0) { // mailbox_send_msg failed (-ENOSPC, ...): release the id
    const ret = chann.send_error;
    chann.send_error = 0;
    mailbox_msg_free(mb, msg);
    return ret;
  }
  chann.chan_xa.set(msg.id, msg);
  k.spend(mb.tx_msg_ns);
  if (k.trace.enabled) k.tp('amdxdna_mbox_set_tail', { chann: chann.name, opcode, id: msg.id });
  npu_fw_doorbell(mb.npu, chann.rings, msg.id, opcode, cmd, arg);
  return 0;
}

/**
 * xdna_mailbox_create_channel: the channel struct (kzalloc), a single-threaded rx workqueue,
 * and request_irq on the ring's vector. Process context.
 */
export function xdna_mailbox_create_channel(mb: xdna_mailbox, rings: mailbox_ring_pair, name: string): mailbox_channel | null {
  const k = mb.kernel;
  let alloc: Allocation | null = null;
  if (mb.upstream_gfp) {
    alloc = kmalloc(k, MAILBOX_CHANNEL_SIZE, GFP_KERNEL, MAILBOX_CHANNEL_TAG);
    if (alloc === null) return null;
  }
  const chann = new mailbox_channel(mb, rings, name);
  chann.alloc = alloc;
  rings.irq = k.request_irq(`xdna_mailbox.${name}`, chann, mailbox_irq_handler);
  rings.irq_masked = false;
  return chann;
}

/** xdna_mailbox_stop_channel: disable the vector and cancel the rx work (waits for it). May sleep. */
export function* xdna_mailbox_stop_channel(chann: mailbox_channel): Sleepable {
  chann.rings.irq_masked = true;
  yield* cancel_work_sync(chann.rx_work);
}

/**
 * xdna_mailbox_destroy_channel: free the vector, destroy the rx workqueue, then release every
 * outstanding message: its handler runs with NULL data in the caller's context (this is where
 * a context destroy "cancels" in-flight commands). May sleep.
 */
export function* xdna_mailbox_destroy_channel(chann: mailbox_channel): Sleepable {
  const mb = chann.mb;
  chann.rings.irq = null; // free_irq
  yield* destroy_workqueue(chann.work_q);
  chann.destroyed = true;
  for (const msg of [...chann.chan_xa.values()]) {
    chann.chan_xa.delete(msg.id);
    msg.notify_cb!(msg.handle, null, 0); // mailbox_release_msg
    mailbox_msg_free(mb, msg);
  }
  chann.rings.i2x.length = 0;
  if (chann.alloc !== null) kfree(mb.kernel, chann.alloc);
  chann.alloc = null;
  mb.kernel.lifetime.free(chann.lifetime_id, 'xdna_mailbox_destroy_channel: kfree(mb_chann)');
}

/* ------------------------------------------------------------------------------------------ */
/* amdxdna_mailbox_helper.c: xdna_send_msg_wait                                                 */

/** struct xdna_notify: the waiter of one management message. */
class xdna_notify {
  readonly comp: completion;
  status = -1;
  value = 0;
  error = 0;

  constructor(k: Kernel) {
    this.comp = new completion(k);
  }
}

/** xdna_msg_cb: copy the response, complete the waiter (NULL data: the channel went away). */
function xdna_msg_cb(hdl: xdna_notify, data: number | null, value: number): number {
  if (data === null) hdl.error = -ECANCELED;
  else {
    hdl.status = data;
    hdl.value = value;
  }
  complete(hdl.comp);
  return 0;
}

/** The parts of the device the management path needs. */
export interface aie2_mgmt {
  readonly kernel: Kernel;
  readonly mbox: xdna_mailbox;
  mgmt_chann: mailbox_channel | null;
}

/**
 * aie2_send_mgmt_msg_wait: send a management message and sleep until the firmware answers
 * (at most RX_TIMEOUT). Returns 0 and the response value, -ETIME, -ENODEV or -EINVAL (a
 * non-success status).
 *
 * `sleep` false is the model path of the create ioctl: Device.create_queue cannot sleep, so the
 * firmware executes the request at once (zero device time) and nothing waits. Every other
 * caller (timeout recovery, destroy, close, unplug) sleeps for the firmware's answer.
 */
export function* aie2_send_mgmt_msg_wait(ndev: aie2_mgmt, opcode: number, arg: number, sleep: boolean): Sleepable<{ ret: number; value: number }> {
  const k = ndev.kernel;
  if (ndev.mgmt_chann === null) return { ret: -ENODEV, value: 0 };
  if (!sleep) {
    const r = npu_mgmt_execute(ndev.mbox.npu, opcode, arg);
    return { ret: r.status === AIE2_STATUS_SUCCESS ? 0 : -EINVAL, value: r.value };
  }
  const hdl = new xdna_notify(k);
  let ret = xdna_mailbox_send_msg(ndev.mgmt_chann, opcode, hdl, xdna_msg_cb, null, arg);
  if (ret !== 0) return { ret, value: 0 };
  const left = yield* wait_for_completion_timeout(hdl.comp, k.jiffies.msecs_to_jiffies(RX_TIMEOUT_MS));
  if (left === 0) return { ret: -ETIME, value: 0 };
  ret = hdl.error !== 0 ? hdl.error : hdl.status !== AIE2_STATUS_SUCCESS ? -EINVAL : 0;
  return { ret, value: hdl.value };
}

/* ------------------------------------------------------------------------------------------ */
/* aie2_message.c: the context half                                                              */

/** What aie2_message.c needs of a hardware context (hwctx->fw_ctx_id, hwctx->priv->mbox_chann). */
export interface aie2_msg_hwctx {
  readonly name: string;
  fw_ctx_id: number;
  readonly priv: { mbox_chann: mailbox_channel | null } | null;
}

/**
 * aie2_create_context: CREATE_CONTEXT on the management channel, then a mailbox channel on
 * the cq_pair the firmware reported. Returns 0 or a negative errno. May sleep (unless `sleep`
 * is false, see aie2_send_mgmt_msg_wait).
 */
export function* aie2_create_context(ndev: aie2_mgmt, hwctx: aie2_msg_hwctx, sleep: boolean): Sleepable<number> {
  const r = yield* aie2_send_mgmt_msg_wait(ndev, MSG_OP_CREATE_CONTEXT, 0, sleep);
  if (r.ret !== 0) return r.ret;
  hwctx.fw_ctx_id = r.value;
  const rings = npu_fw_ctx_rings(ndev.mbox.npu, r.value);
  const chann = rings === null ? null : xdna_mailbox_create_channel(ndev.mbox, rings, `${hwctx.name}/fw${r.value}`);
  if (chann === null) {
    yield* aie2_destroy_context(ndev, hwctx, sleep);
    return -EINVAL;
  }
  hwctx.priv!.mbox_chann = chann;
  return 0;
}

/**
 * aie2_destroy_context: stop the channel (vector masked, rx work cancelled), DESTROY_CONTEXT
 * (the firmware drops whatever the context still executes), then destroy the channel, which
 * calls every outstanding message's handler with NULL data. May sleep.
 */
export function* aie2_destroy_context(ndev: aie2_mgmt, hwctx: aie2_msg_hwctx, sleep: boolean): Sleepable<number> {
  if (hwctx.fw_ctx_id === -1) return 0;
  const chann = hwctx.priv!.mbox_chann;
  if (chann !== null) yield* xdna_mailbox_stop_channel(chann);
  const r = yield* aie2_send_mgmt_msg_wait(ndev, MSG_OP_DESTROY_CONTEXT, hwctx.fw_ctx_id, sleep);
  if (r.ret !== 0) ndev.kernel.tp('amdxdna_warn', { what: `${hwctx.name} destroy context failed`, ret: r.ret });
  if (chann !== null) yield* xdna_mailbox_destroy_channel(chann);
  hwctx.priv!.mbox_chann = null;
  hwctx.fw_ctx_id = -1;
  return r.ret;
}

/** aie2_map_host_buf: MAP_HOST_BUFFER for the client's device heap. May sleep. */
export function* aie2_map_host_buf(ndev: aie2_mgmt, fw_ctx_id: number, sleep: boolean): Sleepable<number> {
  const r = yield* aie2_send_mgmt_msg_wait(ndev, MSG_OP_MAP_HOST_BUFFER, fw_ctx_id, sleep);
  return r.ret;
}

/** aie2_config_cu: CONFIG_CU on the context's own channel; not waited for. */
export function aie2_config_cu(hwctx: aie2_msg_hwctx, notify_cb: mailbox_notify_cb): number {
  const chann = hwctx.priv?.mbox_chann ?? null;
  if (chann === null) return -ENODEV;
  return xdna_mailbox_send_msg(chann, MSG_OP_CONFIG_CU, hwctx, notify_cb, null, 0);
}

/** aie2_execbuf: EXECUTE_BUFFER_CF with the command BO on the context's channel. */
export function aie2_execbuf(hwctx: aie2_msg_hwctx, job: unknown, cmd: amdxdna_cmd_bo, notify_cb: mailbox_notify_cb): number {
  const chann = hwctx.priv?.mbox_chann ?? null;
  if (chann === null) return -ENODEV;
  return xdna_mailbox_send_msg(chann, MSG_OP_EXECUTE_BUFFER_CF, job, notify_cb, cmd, 0);
}

/** The management channel of the device (aie2_pci.c at probe), on the NPU's mgmt rings. */
export function aie2_mgmt_channel_create(mb: xdna_mailbox): mailbox_channel | null {
  return xdna_mailbox_create_channel(mb, mb.npu.mgmt_rings, 'mgmt');
}

/** Device removal: stop and destroy the management channel. May sleep. */
export function* aie2_mgmt_channel_destroy(ndev: aie2_mgmt): Sleepable {
  const chann = ndev.mgmt_chann;
  if (chann === null) return;
  ndev.mgmt_chann = null;
  yield* xdna_mailbox_stop_channel(chann);
  yield* xdna_mailbox_destroy_channel(chann);
}

