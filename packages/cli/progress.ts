/** Progress on stderr: a bar on a terminal, a line every tenth otherwise (CI logs stay short). */
export function progress_printer(label: string, err: (s: string) => void): (done: number, total: number) => void {
  let last = -1;
  return (done, total) => {
    if (process.stderr.isTTY) {
      const width = 30, filled = Math.round((done / total) * width);
      err(`\r${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}${done === total ? '\n' : ''}`);
    } else {
      const step = Math.floor((done * 10) / total);
      if (step !== last || done === total) err(`${label}: ${done}/${total}\n`);
      last = step;
    }
  };
}
