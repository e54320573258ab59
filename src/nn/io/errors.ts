/**
 * Thrown for any weights file that is truncated, corrupt, hostile or simply outside what the
 * readers support. The message says which file format, what was found and what was expected.
 */
export class WeightFileError extends Error {
  /** @param message - what was wrong and what was expected. */
  constructor(message: string) {
    super(message);
    this.name = 'WeightFileError';
  }
}
