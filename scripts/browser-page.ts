/**
 * The page side of scripts/headless-chromium.mjs: a page served by `serveFolder` sends lines to
 * print (`postLog`) and its final result (`postReport`) back to the Node process that started
 * headless Chromium. Used by the browser example, the browser benchmark and the browser check.
 */

/** Whether the page was opened by a headless check (`?report` in its URL). */
export function reporting(): boolean {
  return new URLSearchParams(location.search).has('report');
}

/** Sends one line for the Node side to print (no-op without `?report`). Never throws. */
export async function postLog(line: string): Promise<void> {
  if (!reporting()) return;
  try {
    await fetch('log', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ line }) });
  } catch {
    // the serving process is gone; nothing to tell
  }
}

/** Sends the final result (any JSON value with a `status` string) to the Node side (no-op without `?report`). */
export async function postReport(result: { status: string; [key: string]: unknown }): Promise<void> {
  if (!reporting()) return;
  await fetch('report', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(result) });
}
