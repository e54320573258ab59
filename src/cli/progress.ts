import cliProgress from 'cli-progress';

/** A progress bar on stderr (silent when stderr is not a terminal or `quiet` is set). */
export interface Progress {
  /** Starts a bar of `total` units labelled `label`. */
  start(total: number, label: string): void;
  /** Sets the bar to `done` units (and its length to `total`, when given). */
  update(done: number, total?: number): void;
  /** Finishes and removes the bar. */
  stop(): void;
}

/** A cli-progress bar, or a no-op when quiet / not a TTY (so logs and CI output stay clean). */
export function makeProgress(quiet: boolean): Progress {
  if (quiet || !process.stderr.isTTY) return { start() {}, update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format: '{label} [{bar}] {value}/{total} | {eta_formatted} left', stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  return {
    start: (total, label) => bar.start(total, 0, { label }),
    update: (done, total) => {
      if (total !== undefined) bar.setTotal(total);
      bar.update(done);
    },
    stop: () => bar.stop(),
  };
}
