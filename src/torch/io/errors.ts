/**
 * The error thrown for malformed, truncated or unsupported serialized files.
 */

/**
 * A file (or buffer) could not be read or written because its contents are malformed, truncated or use
 * a feature this reader does not support. The message names the file and, where one is involved, the
 * tensor or archive record.
 */
export class SerializationError extends Error {
  /** The file path (or `<buffer>`) the error is about. */
  readonly file: string;

  /**
   * @param file path of the file, or a description such as `<buffer>`
   * @param message what is wrong, without the file name (it is prefixed)
   * @param options `cause`: the underlying error, if any
   */
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.name = 'SerializationError';
    this.file = file;
  }
}
