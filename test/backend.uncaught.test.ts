/**
 * After `selectBackend('wasm')`, an app's uncaught error is reported as Node reports it: its
 * message and stack, not tfjs-backend-wasm's emscripten source line (~38 KB) that its rethrowing
 * `uncaughtException` listener made Node print first. Runs the built package (`dist/`) in a child
 * process, as an app would.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = pathToFileURL(join(ROOT, 'dist/index.js')).href;

function run(code: string): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('uncaught errors after selectBackend', () => {
  it('dist/index.js is built', () => {
    expect(existsSync(join(ROOT, 'dist/index.js'))).toBe(true);
  });

  it('a thrown error prints its own message and stack, under 2 KB, exit 1 (wasm backend)', () => {
    const r = run(`import { selectBackend } from '${ENTRY}';\nconst before = process.listeners('uncaughtException').length + process.listeners('unhandledRejection').length;\nconsole.log(await selectBackend('wasm'), before, process.listeners('uncaughtException').length + process.listeners('unhandledRejection').length);\nthrow new Error('boom from the app');`);
    const [backend, before, after] = r.stdout.trim().split(/\s+/);
    expect(backend).toBe('wasm');
    expect(after).toBe(before);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Error: boom from the app');
    expect(r.stderr).not.toContain('WasmBackendModule');
    expect(r.stderr.length).toBeLessThan(2048);
  });

  it('an unhandled rejection is reported as Node reports it too', () => {
    const r = run(`import { selectBackend } from '${ENTRY}';\nawait selectBackend('wasm');\nPromise.reject(new Error('rejected in the app'));`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('rejected in the app');
    expect(r.stderr.length).toBeLessThan(2048);
  });
});
