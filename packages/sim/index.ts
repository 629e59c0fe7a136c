/**
 * @deplab/sim: the simulated kernel every deplab model runs on (layer 1). See
 * docs/architecture.md for the layer rules; everything public is exported here.
 */
export * from './errno.ts';
export * from './time.ts';
export * from './random.ts';
export * from './event-queue.ts';
export * from './violations.ts';
export * from './trace.ts';
export * from './cost.ts';
export * from './assumptions.ts';
export * from './context.ts';
export * from './lifetime.ts';
export * from './kref.ts';
export * from './lockdep.ts';
export * from './wait.ts';
export * from './alloc.ts';
export * from './xarray.ts';
export * from './kernel.ts';
export * from './workqueue.ts';
export * from './fence.ts';
export * from './timer.ts';
export * from './timer_wheel.ts';
export * from './resv.ts';
export * from './pct.ts';
export * from './fifo.ts';
export * from './rbtree.ts';
