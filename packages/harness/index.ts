/**
 * @deplab/harness (layer 4): runs identical workloads through both schedulers. Public API only;
 * see docs/architecture.md for the layers.
 */
export * from './workload/index.ts';
