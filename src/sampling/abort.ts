/**
 * Throws if `signal` is aborted: its `reason` when one was given (`AbortController.abort()`
 * without an argument sets a `DOMException` named `AbortError`), else an `Error` named
 * `AbortError`.
 */
export function throwIfAborted(signal: AbortSignal | undefined, where: string): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  if (reason !== undefined) throw reason;
  const err = new Error(`${where}: aborted`);
  err.name = 'AbortError';
  throw err;
}
