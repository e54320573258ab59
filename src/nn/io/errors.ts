/**
 * Thrown for any weights file that is truncated, corrupt, hostile or simply outside what the
 * readers support. The message says which file format, what was found and what was expected.
 */
export class WeightFileError extends Error {
  /** @param message - what was wrong and what was expected. @param options - `cause`: the error behind it, if any. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WeightFileError';
  }
}
