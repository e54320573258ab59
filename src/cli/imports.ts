// `irsde --import MODULE ...`: the user's own modules, imported before a command runs (e.g. one
// that calls `registerNetwork` from 'irsde/advanced', so that `--weights` can name a model file of
// a custom network). The CLI shares its chunks with the package's entries, so the registration a
// module makes through `irsde/advanced` is the one the command sees.
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CliError } from './errors.js';

/**
 * Imports each module in order: a path (relative to the working directory, or absolute) or a
 * package name resolved from the working directory, as the user's own code would resolve it.
 * @throws CliError naming the module and the cause when one cannot be found or throws on import.
 */
export async function importUserModules(specifiers: readonly string[], cwd = process.cwd()): Promise<void> {
  for (const spec of specifiers) {
    let url: string;
    try {
      const isPath = spec.startsWith('.') || isAbsolute(spec);
      url = pathToFileURL(isPath ? resolve(cwd, spec) : createRequire(join(cwd, 'noop.js')).resolve(spec)).href;
    } catch (e) {
      throw new CliError(`--import ${spec}: cannot find it from ${cwd} (${(e as Error).message.split('\n')[0]})`);
    }
    try {
      await import(url);
    } catch (e) {
      const err = e as Error & { code?: string };
      throw new CliError(`--import ${spec}: ${err.code === 'ERR_MODULE_NOT_FOUND' ? 'not found' : 'failed'}: ${String(err.message).split('\n')[0]}`);
    }
  }
}
