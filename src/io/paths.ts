// Node-only: what a path on disk is.
import { stat } from 'node:fs/promises';

/** True when `path` exists and is a regular file (a symlink to one counts). */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** True when `path` exists and is a folder (a symlink to one counts). */
export async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
