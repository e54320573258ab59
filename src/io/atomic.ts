// Node-only: the one way irsde writes a file. The bytes go to a temporary file in the target's
// folder, are flushed to disk (fsync), and the temporary file is renamed over the target, so that
// a kill at any moment (kill -9, power loss, out of memory) leaves the old file or the whole new
// one, never a truncated mix. On failure the temporary file is removed.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** Create missing parent folders (default `false`). */
  readonly mkdirs?: boolean;
  /**
   * Test hook (fault injection): called with the temporary file's path after its bytes are
   * written and flushed, just before the rename. Not for production use.
   */
  readonly beforeRename?: (tempPath: string) => void | Promise<void>;
}

/** Bytes per `write` call (a kill between two calls leaves a partial temporary file, never a partial target). */
const CHUNK = 1 << 22;

/** Node's error code in words, for one-line messages. */
function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const words: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded',
    ENOENT: 'no such folder',
    ENOTDIR: 'a parent is not a folder',
    EISDIR: 'it is a folder',
  };
  return err.code && words[err.code] ? `${words[err.code]} (${err.code})` : err.message;
}

/**
 * The path the bytes of `path` really go to: `path` itself, or, when it is a symlink to a file,
 * that file (so that writing through a link updates what it points at, as a plain write would).
 */
async function resolveTarget(path: string): Promise<string> {
  try {
    if ((await lstat(path)).isSymbolicLink()) return await realpath(path);
  } catch {
    // Missing, or a dangling link: write at `path`.
  }
  return path;
}

/** The temporary file's name for `target`: hidden, in the same folder, unique per process and call. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Writes `data` to `path` atomically: to a temporary file in the same folder, flushed to disk,
 * then renamed over `path` (an existing file keeps its permissions). At any kill the file at
 * `path` is either the old one or the whole new one.
 * @param path - the target file; when it is a symlink, the file it points at is replaced.
 * @param data - the bytes (or a string, written as UTF-8).
 * @param options - see {@link WriteFileAtomicOptions}.
 * @throws Error of one line naming `path` and the cause (permission denied, no space, a folder
 *   at `path`, ...); the temporary file is removed and the old file left as it was.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options: WriteFileAtomicOptions = {}): Promise<void> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const target = await resolveTarget(path);
  const dir = dirname(target);
  if (options.mkdirs) {
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      throw new Error(`cannot write '${path}': cannot create its folder '${dir}': ${describe(e)}`);
    }
  }
  let mode = 0o666;
  try {
    const s = await stat(target);
    if (s.isDirectory()) throw new Error(`cannot write '${path}': it is a folder`);
    mode = s.mode & 0o7777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === undefined) throw e;
  }
  const temp = tempPathFor(target);
  let written = false;
  try {
    const fh = await open(temp, 'wx', mode);
    try {
      for (let at = 0; at < bytes.length; ) {
        const { bytesWritten } = await fh.write(bytes, at, Math.min(CHUNK, bytes.length - at));
        at += bytesWritten;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (options.beforeRename) await options.beforeRename(temp);
    await rename(temp, target);
    written = true;
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    const message = (e as Error).message;
    throw new Error(message.startsWith(`cannot write '${path}'`) ? message : `cannot write '${path}': ${describe(e)}`);
  }
  if (written) {
    // Flush the folder entry too, so the rename itself survives a power loss (best effort: not
    // every platform can open a folder).
    try {
      const dh = await open(dir, 'r');
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    } catch {
      // ignored
    }
  }
}

/**
 * Whether files can be created in folder `dir` (creating it, and missing parents, when absent):
 * creates and removes a small probe file there.
 * @throws Error of one line naming `dir` and the cause when they cannot.
 */
export async function assertWritableFolder(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new Error(`cannot write to folder '${dir}': ${describe(e)}`);
  }
  const probe = tempPathFor(join(dir, 'probe'));
  try {
    const fh = await open(probe, 'wx');
    await fh.close();
  } catch (e) {
    throw new Error(`cannot write to folder '${dir}': ${describe(e)}`);
  }
  await unlink(probe).catch(() => undefined);
}
