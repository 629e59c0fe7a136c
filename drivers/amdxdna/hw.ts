/**
 * The AMD NPU (AIE2) as hardware and firmware: what the amdxdna driver talks to, and nothing
 * of either scheduler. One management firmware that processes one management message at a
 * time, and one firmware context per hardware context (a column partition) that executes its
 * commands strictly in order, one at a time. Both talk to the host through ring pairs in NPU
 * SRAM (the x2i/i2x queues of a cq_pair): the host writes a message (and bumps the x2i tail,
 * the doorbell), the firmware writes a response into the i2x ring and raises the ring's MSI-X
 * vector. The driver half of the transport (amdxdna_mailbox.c) is in mailbox.ts.
 *
 * Modelled after the KUnit mock's shape: one list per context, one timeline, nothing else.
 * Firmware work is device time: its events run outside any CPU context and cost no CPU; only
 * the interrupt it raises enters the kernel (hardirq, kernel.raise_irq_at).
 *
 * Simplifications (README "What is simplified"): no column solver (every context gets its own
 * columns, no temporal sharing), no PDI loading, no power management, no async error events,
 * ring space is never exhausted (at most HWCTX_MAX_CMDS commands per context are in flight).
 *
 * deplab only: `cmd_started` reports a command the moment its firmware context starts executing
 * it (it reached the head of the context's queue), for the driver's deplab_job_hw_start event.
 */
import { PHASE_HARDIRQ, type EventHandle, type Kernel, type irq_line } from '@deplab/sim';

/* ------------------------------------------------------------------------------------------ */
/* Protocol constants (aie2_msg_priv.h, amdxdna_ctx.h)                                          */

export const MSG_OP_CREATE_CONTEXT = 0x2;
export const MSG_OP_DESTROY_CONTEXT = 0x3;
export const MSG_OP_EXECUTE_BUFFER_CF = 0xc;
export const MSG_OP_CONFIG_CU = 0x11;
export const MSG_OP_MAP_HOST_BUFFER = 0x106;

export const AIE2_STATUS_SUCCESS = 0x0;
/** The status an injected firmware error reports (any non-success status is an ERROR to the driver). */
export const AIE2_STATUS_AIE_INSTRUCTION_ERROR = 0x1000006;
/** DESTROY/MAP on a context the firmware does not know. */
export const AIE2_STATUS_INVALID_PARAM = 0x4000003;

/** enum ert_cmd_state (amdxdna_ctx.h): the state word in the command BO header. */
export const ERT_CMD_STATE_NEW = 1;
export const ERT_CMD_STATE_QUEUED = 2;
export const ERT_CMD_STATE_RUNNING = 3;
export const ERT_CMD_STATE_COMPLETED = 4;
export const ERT_CMD_STATE_ERROR = 5;
export const ERT_CMD_STATE_ABORT = 6;
export const ERT_CMD_STATE_SUBMITTED = 7;
export const ERT_CMD_STATE_TIMEOUT = 8;

/* ------------------------------------------------------------------------------------------ */
/* Memory shared between host and NPU                                                           */

/**
 * A command BO (AMDXDNA_BO_CMD): the ERT packet userspace fills and the firmware executes.
 * `state` is the header's state word, written by the driver (run_job sets NEW, the response
 * handler COMPLETED/ERROR); userspace reads it to learn the outcome. The execution fields stand
 * for the instruction buffer: how long the column partition runs it, or that it never ends.
 */
export class amdxdna_cmd_bo {
  state = 0;
  /** NPU execution time, ns (ignored for manual and hung commands). */
  exec_ns = 0;
  /** Completes only through npu_cmd_complete_manual (a workload's 'manual' job). */
  manual = false;
  /** Set once a manual command may complete. */
  manual_released = false;
  /** The command never finishes on the NPU (a hung kernel): only a context destroy ends it. */
  hang = false;
  /** Device time the firmware started / finished it; -1 while not yet. */
  started_ns = -1;
  finished_ns = -1;
  /** The firmware context that accepted it (set on receipt). */
  fw_ctx: npu_fw_ctx | null = null;
}

/** One response the firmware wrote into an i2x ring: message id, status word and one value. */
export interface fw_response {
  readonly id: number;
  readonly status: number;
  /** CREATE_CONTEXT: the new context id; otherwise 0. */
  readonly value: number;
}

/**
 * One cq_pair in NPU SRAM and its MSI-X vector. The driver owns the vector (request_irq in
 * xdna_mailbox_create_channel) and masks it (disable_irq); the firmware only writes responses
 * and raises it.
 */
export class mailbox_ring_pair {
  readonly name: string;
  /** Responses written by the firmware and not yet consumed by the host (i2x). */
  readonly i2x: fw_response[] = [];
  irq: irq_line | null = null;
  irq_masked = false;
  /** The firmware context behind these rings (null for the management rings). */
  fw_ctx: npu_fw_ctx | null = null;

  constructor(name: string) {
    this.name = name;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Firmware                                                                                      */

/** A request as the firmware reads it from an x2i ring. */
interface fw_request {
  readonly id: number;
  readonly opcode: number;
  /** EXECUTE_BUFFER: the command BO. */
  readonly cmd: amdxdna_cmd_bo | null;
  /** DESTROY_CONTEXT / MAP_HOST_BUFFER: the firmware context id. */
  readonly arg: number;
}

/** A firmware context: a column partition executing its commands in order, one at a time. */
export class npu_fw_ctx {
  readonly npu: npu_device;
  readonly id: number;
  readonly rings: mailbox_ring_pair;
  /** Accepted requests in execution order; the head is executing. */
  readonly queue: fw_request[] = [];
  /** The completion event of the head, or -1 (idle, hung, manual). */
  head_event: EventHandle = -1;
  /** Fault injection: the next command to finish reports this status (0: none). */
  error_next = 0;
  destroyed = false;
  /** Commands completed over the context's life. */
  completed = 0;

  constructor(npu: npu_device, id: number) {
    this.npu = npu;
    this.id = id;
    this.rings = new mailbox_ring_pair(`ctx${id}`);
    this.rings.fw_ctx = this;
  }
}

/**
 * The NPU: management firmware (one message at a time, each taking `mgmt_ns`) and the firmware
 * contexts. `dispatch_ns` is the ERT's per-command dispatch overhead on top of the command's
 * execution time.
 */
export class npu_device {
  readonly kernel: Kernel;
  readonly mgmt_rings = new mailbox_ring_pair('mgmt');
  readonly contexts = new Map<number, npu_fw_ctx>();
  readonly mgmt_queue: fw_request[] = [];
  mgmt_busy = false;
  next_ctx_id = 1;
  readonly mgmt_ns: number;
  readonly dispatch_ns: number;
  /** Contexts ever created (a timeout recreates one). */
  contexts_created = 0;
  /** deplab only: a firmware context started executing `cmd` (set by the driver while tracing). */
  cmd_started: ((cmd: amdxdna_cmd_bo) => void) | null = null;
  readonly ev_ctx: number;
  readonly ev_mgmt: number;

  constructor(kernel: Kernel, mgmt_ns: number, dispatch_ns: number) {
    this.kernel = kernel;
    this.mgmt_ns = mgmt_ns;
    this.dispatch_ns = dispatch_ns;
    const kinds = event_kinds(kernel);
    this.ev_ctx = kinds.ctx;
    this.ev_mgmt = kinds.mgmt;
  }
}

const kinds_of = new WeakMap<Kernel, { ctx: number; mgmt: number }>();

/** The firmware's two device-time event kinds, registered once per kernel. */
function event_kinds(k: Kernel): { ctx: number; mgmt: number } {
  let kinds = kinds_of.get(k);
  if (kinds === undefined) {
    kinds = {
      ctx: k.register_event_kind('amdxdna_fw_cmd_done', (ctx) => fw_ctx_head_done(ctx as npu_fw_ctx)),
      mgmt: k.register_event_kind('amdxdna_fw_mgmt_done', (npu) => fw_mgmt_done(npu as npu_device)),
    };
    kinds_of.set(k, kinds);
  }
  return kinds;
}

/** The firmware writes a response and raises the ring's vector (unless the host masked it). */
function fw_respond(k: Kernel, rings: mailbox_ring_pair, response: fw_response): void {
  rings.i2x.push(response);
  if (rings.irq !== null && !rings.irq_masked) k.raise_irq_at(rings.irq, k.now(), 0);
}

/**
 * The host bumped the x2i tail of `rings` (mailbox_send_msg): the firmware reads the request.
 * Returns false if no firmware endpoint listens on these rings (a destroyed context).
 */
export function npu_fw_doorbell(npu: npu_device, rings: mailbox_ring_pair, id: number, opcode: number,
  cmd: amdxdna_cmd_bo | null, arg: number): boolean {
  const req: fw_request = { id, opcode, cmd, arg };
  if (rings === npu.mgmt_rings) {
    npu.mgmt_queue.push(req);
    if (!npu.mgmt_busy) fw_mgmt_start(npu);
    return true;
  }
  const ctx = rings.fw_ctx;
  if (ctx === null || ctx.destroyed) return false;
  if (cmd !== null) cmd.fw_ctx = ctx;
  ctx.queue.push(req);
  if (ctx.queue.length === 1) fw_ctx_start_head(ctx);
  return true;
}

/** Start the head request of `ctx`: arm its completion unless it hangs or waits to be released. */
function fw_ctx_start_head(ctx: npu_fw_ctx): void {
  const head = ctx.queue[0];
  if (head === undefined) return;
  const k = ctx.npu.kernel;
  const cmd = head.cmd;
  if (cmd !== null) {
    cmd.started_ns = k.now();
    if (ctx.npu.cmd_started !== null) ctx.npu.cmd_started(cmd);
    if (cmd.hang || (cmd.manual && !cmd.manual_released)) return;
  }
  const exec_ns = cmd !== null && !cmd.manual ? cmd.exec_ns : 0;
  ctx.head_event = k.schedule_at(k.now() + ctx.npu.dispatch_ns + exec_ns, PHASE_HARDIRQ, ctx.npu.ev_ctx, ctx, 0);
}

/** Device time: the head request of `ctx` finished. */
function fw_ctx_head_done(ctx: npu_fw_ctx): void {
  ctx.head_event = -1;
  const head = ctx.queue.shift();
  if (head === undefined || ctx.destroyed) return;
  const k = ctx.npu.kernel;
  let status = AIE2_STATUS_SUCCESS;
  if (head.cmd !== null) {
    head.cmd.finished_ns = k.now();
    status = ctx.error_next;
    ctx.error_next = 0;
    ctx.completed++;
  }
  fw_respond(k, ctx.rings, { id: head.id, status, value: 0 });
  fw_ctx_start_head(ctx);
}

function fw_mgmt_start(npu: npu_device): void {
  const k = npu.kernel;
  if (npu.mgmt_queue.length === 0) return;
  npu.mgmt_busy = true;
  k.schedule_at(k.now() + npu.mgmt_ns, PHASE_HARDIRQ, npu.ev_mgmt, npu, 0);
}

/** Device time: the management firmware finished its head request. */
function fw_mgmt_done(npu: npu_device): void {
  npu.mgmt_busy = false;
  const req = npu.mgmt_queue.shift();
  if (req === undefined) return;
  const r = npu_mgmt_execute(npu, req.opcode, req.arg);
  fw_respond(npu.kernel, npu.mgmt_rings, { id: req.id, status: r.status, value: r.value });
  fw_mgmt_start(npu);
}

/**
 * The effect of one management request. CREATE_CONTEXT returns the new context's id (its
 * rings are then found with npu_fw_ctx_rings); DESTROY_CONTEXT stops the context at once:
 * the command executing and everything queued behind it are dropped without a response.
 * Used by the message path above, and directly by the create ioctl's model path (see
 * mailbox.ts aie2_send_mgmt_msg_wait: Device.create_queue cannot sleep).
 */
export function npu_mgmt_execute(npu: npu_device, opcode: number, arg: number): { status: number; value: number } {
  switch (opcode) {
    case MSG_OP_CREATE_CONTEXT: {
      const ctx = new npu_fw_ctx(npu, npu.next_ctx_id++);
      npu.contexts.set(ctx.id, ctx);
      npu.contexts_created++;
      npu.kernel.tp('amdxdna_fw_ctx_create', { fw_ctx_id: ctx.id });
      return { status: AIE2_STATUS_SUCCESS, value: ctx.id };
    }
    case MSG_OP_DESTROY_CONTEXT: {
      const ctx = npu.contexts.get(arg);
      if (ctx === undefined) return { status: AIE2_STATUS_INVALID_PARAM, value: 0 };
      ctx.destroyed = true;
      if (ctx.head_event >= 0) npu.kernel.cancel_event(ctx.head_event);
      ctx.head_event = -1;
      const dropped = ctx.queue.length;
      ctx.queue.length = 0;
      npu.contexts.delete(arg);
      npu.kernel.tp('amdxdna_fw_ctx_destroy', { fw_ctx_id: arg, dropped });
      return { status: AIE2_STATUS_SUCCESS, value: 0 };
    }
    case MSG_OP_MAP_HOST_BUFFER:
      return { status: npu.contexts.has(arg) ? AIE2_STATUS_SUCCESS : AIE2_STATUS_INVALID_PARAM, value: 0 };
    default:
      return { status: AIE2_STATUS_INVALID_PARAM, value: 0 };
  }
}

/** The rings of firmware context `id` (the cq_pair CREATE_CONTEXT reported), or null. */
export function npu_fw_ctx_rings(npu: npu_device, id: number): mailbox_ring_pair | null {
  return npu.contexts.get(id)?.rings ?? null;
}

/* ------------------------------------------------------------------------------------------ */
/* Fault injection and workload control                                                         */

/**
 * The command never finishes (a hung NPU kernel). Not yet executing: it will hang when it
 * reaches the head. Executing: its completion is cancelled. Returns false if it already ended.
 */
export function npu_cmd_hang(cmd: amdxdna_cmd_bo): boolean {
  if (cmd.finished_ns >= 0) return false;
  cmd.hang = true;
  const ctx = cmd.fw_ctx;
  if (ctx !== null && ctx.queue.length > 0 && ctx.queue[0].cmd === cmd && ctx.head_event >= 0) {
    ctx.npu.kernel.cancel_event(ctx.head_event);
    ctx.head_event = -1;
  }
  return true;
}

/** Release a manual command: it completes now if executing, else as soon as it reaches the head. */
export function npu_cmd_complete_manual(cmd: amdxdna_cmd_bo): void {
  if (!cmd.manual || cmd.manual_released) return;
  cmd.manual_released = true;
  const ctx = cmd.fw_ctx;
  if (ctx !== null && !ctx.destroyed && ctx.queue.length > 0 && ctx.queue[0].cmd === cmd && ctx.head_event < 0 && !cmd.hang) {
    const k = ctx.npu.kernel;
    ctx.head_event = k.schedule_at(k.now(), PHASE_HARDIRQ, ctx.npu.ev_ctx, ctx, 0);
  }
}

/** The next command context `id` finishes reports `status` instead of success (one shot). */
export function npu_fw_ctx_inject_error(npu: npu_device, id: number, status: number): boolean {
  const ctx = npu.contexts.get(id);
  if (ctx === undefined) return false;
  ctx.error_next = status;
  return true;
}
