/**
 * The fence irq_work (hw_fence_irq_run_cb, xe_device.ts): it looks only at the fences of LRCs
 * whose seqno moved, or that got a fence, since its last run, and walks the whole list after an
 * error was set; what it signals, and in which order, must be what the C walk of every pending
 * fence in enable order signals.
 */
import { describe, expect, it } from 'vitest';
import { EIO, Kernel, dma_fence_add_callback, dma_fence_cb, type dma_fence } from '@deplab/sim';
import { xe_hw, xe_lrc } from './hw.ts';
import { xe_hw_fence_alloc, xe_hw_fence_init, xe_hw_fence_irq, xe_hw_fence_irq_run, xe_hw_fence_set_error, type xe_hw_fence } from './xe_device.ts';

describe('xe fence irq_work', () => {
  const rig = () => {
    const k = new Kernel({ costs: { profile: 'constant' } });
    const hw = new xe_hw(k, 'gt0');
    const irq = new xe_hw_fence_irq(k);
    const lrcs = { A: new xe_lrc(hw, 0, 'A'), B: new xe_lrc(hw, 0, 'B'), C: new xe_lrc(hw, 0, 'C') };
    const order: string[] = [];
    const fence = (lrc: keyof typeof lrcs, seqno: number): xe_hw_fence => {
      const f = xe_hw_fence_alloc(k)!;
      xe_hw_fence_init(f, lrcs[lrc], irq, k.dma_fence_context_alloc(1), seqno);
      return f;
    };
    // Enabling signalling (a callback) puts the fence on the irq's pending list, in this order.
    const enable = (name: string, f: xe_hw_fence) => {
      dma_fence_add_callback(f.dma, new dma_fence_cb(), (d: dma_fence) => { order.push(`${name}${d.error !== 0 ? `(${d.error})` : ''}`); });
    };
    // What the hardware does at a job's end (hw.ts): the status page seqno moves, the irq fires.
    const complete = (lrc: keyof typeof lrcs, seqno: number) => {
      lrcs[lrc].seqno = seqno;
      lrcs[lrc].seqno_watch?.lrc_seqno_moved(lrcs[lrc]);
      xe_hw_fence_irq_run(irq);
      k.run_all();
    };
    return { k, irq, fence, enable, complete, order };
  };

  it('signals every done fence of every LRC in enable order, not LRC by LRC', () => {
    const { k, irq, fence, enable, complete, order } = rig();
    const fs = { B1: fence('B', 1), A1: fence('A', 1), B2: fence('B', 2), A2: fence('A', 2), C1: fence('C', 1) };
    for (const [name, f] of Object.entries(fs)) enable(name, f);
    k.run_all();
    expect(order).toEqual([]);
    // A's and B's jobs end before the irq_work runs (A's first): one run, the enable order.
    for (const f of [fs.A2, fs.B2]) {
      const lrc = f.lrc!;
      lrc.seqno = 2;
      lrc.seqno_watch?.lrc_seqno_moved(lrc);
    }
    xe_hw_fence_irq_run(irq);
    k.run_all();
    expect(order).toEqual(['B1', 'A1', 'B2', 'A2']);
    complete('C', 1);
    expect(order).toEqual(['B1', 'A1', 'B2', 'A2', 'C1']);
    expect(irq.by_lrc.size).toBe(0);
  });

  it('a fence given an error on an LRC whose seqno never moved is signalled by the next run (the whole list is walked)', () => {
    const { k, irq, fence, enable, order } = rig();
    const a1 = fence('A', 1), b1 = fence('B', 1);
    enable('A1', a1);
    enable('B1', b1);
    k.run_all();
    xe_hw_fence_set_error(b1.dma, irq, -EIO);
    k.run_all();
    expect(order).toEqual([`B1(${-EIO})`]);
    expect(irq.full_walk).toBe(false);
    expect(a1.dma.signaled).toBe(false);
  });
});
