// The `irsde` command line. Each subcommand lives in commands/ and only wires library calls
// together; there is no logic here that the library lacks.
import { Command, CommanderError } from 'commander';
import { registerEval } from './commands/eval.js';
import { registerExport } from './commands/export.js';
import { registerInfo } from './commands/info.js';
import { registerPlot } from './commands/plot.js';
import { registerRestore } from './commands/restore.js';
import { registerTrain } from './commands/train.js';
import { CliError } from './errors.js';
import { importUserModules } from './imports.js';
import { UnregisteredNetworkError } from '../nn/nets/custom.js';

/** An error and the errors behind it (`cause`, then its cause, ...). */
function causes(e: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let c = e; c !== undefined && c !== null && !chain.includes(c); c = (c as { cause?: unknown }).cause) chain.push(c);
  return chain;
}

/** Builds the `irsde` program (exported for tests). */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('irsde')
    .description('Image restoration with mean-reverting SDEs (IR-SDE): train, restore, evaluate, export, plot')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .option('--import <module>', "a module to import before the command runs (repeatable), e.g. one that registers a custom network with registerNetwork from 'irsde/advanced' (a path relative to the working directory, or a package name)", (v: string, all: string[]) => [...all, v], [] as string[])
    .exitOverride();
  program.hook('preAction', async () => {
    await importUserModules(program.opts<{ import: string[] }>().import);
  });
  registerTrain(program);
  registerRestore(program);
  registerEval(program);
  registerExport(program);
  registerInfo(program);
  registerPlot(program);
  return program;
}

/** Runs the CLI on `argv` and returns the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : e.exitCode || 1;
    const err = e as Error;
    // User-facing errors (bad flags, missing files, mismatched configs) print as one line.
    // A model file of a custom network needs the module that registers it (see --import).
    const hint = causes(err).some((c) => c instanceof UnregisteredNetworkError) ? ' (on the command line: irsde --import ./your-network.js ...)' : '';
    console.error(`irsde: ${err instanceof CliError ? err.message : `${err.name}: ${err.message}`}${hint}`);
    if (process.env.IRSDE_DEBUG && err.stack) console.error(err.stack);
    return 1;
  }
}
