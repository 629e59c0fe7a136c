/**
 * Kernel error numbers (include/uapi/asm-generic/errno-base.h, errno.h).
 * Exported positive, as in C; model code writes `-ECANCELED` where the kernel does.
 */
export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EIO = 5;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EBUSY = 16;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOSPC = 28;
export const EDEADLK = 35;
export const ETIME = 62;
export const ETIMEDOUT = 110;
export const ECANCELED = 125;
export const EHWPOISON = 133;
/** Kernel-internal: returned by killable waits when a fatal signal is pending. */
export const ERESTARTSYS = 512;

const NAMES: ReadonlyArray<readonly [number, string]> = [
  [EPERM, 'EPERM'], [ENOENT, 'ENOENT'], [ESRCH, 'ESRCH'], [EINTR, 'EINTR'], [EIO, 'EIO'],
  [EAGAIN, 'EAGAIN'], [ENOMEM, 'ENOMEM'], [EBUSY, 'EBUSY'], [ENODEV, 'ENODEV'],
  [EINVAL, 'EINVAL'], [ENOSPC, 'ENOSPC'], [EDEADLK, 'EDEADLK'], [ETIME, 'ETIME'],
  [ETIMEDOUT, 'ETIMEDOUT'], [ECANCELED, 'ECANCELED'], [EHWPOISON, 'EHWPOISON'],
  [ERESTARTSYS, 'ERESTARTSYS'],
];

/** "-ECANCELED" for -125, "0" for 0: how traces and reports print a fence error. */
export function errno_name(err: number): string {
  if (err === 0) return '0';
  const abs = Math.abs(err);
  for (const [value, name] of NAMES) if (value === abs) return (err < 0 ? '-' : '') + name;
  return String(err);
}
