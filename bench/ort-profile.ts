/**
 * Summary of an ONNX Runtime profile file (`enableProfiling`): kernel time per run summed by
 * operator type, by scope, and the top nodes with their input shapes. Shared by the profiling
 * benches (`bench/train-profile.ts`, `bench/infer-profile.ts`); deletes the file after reading.
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/** The newest profile file written under `prefix` (ORT appends a timestamp), or undefined. */
export function findProfile(prefix: string): string | undefined {
  return readdirSync(dirname(prefix))
    .filter((f) => f.startsWith(basename(prefix)))
    .map((f) => resolve(dirname(prefix), f))
    .sort()
    .at(-1);
}

/** Prints the summary of `file` over `runs` session runs (`top` nodes listed) and deletes it. */
export function summariseProfile(file: string, runs: number, top = 30): void {
  const events = JSON.parse(readFileSync(file, 'utf8')) as Array<{ cat: string; name: string; dur: number; args?: { op_name?: string; input_type_shape?: Array<Record<string, number[]>> } }>;
  const shapes = new Map<string, string>();
  const byType = new Map<string, number>();
  const byNode = new Map<string, number>();
  let total = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const type = e.args?.op_name ?? '?';
    byType.set(type, (byType.get(type) ?? 0) + e.dur);
    byNode.set(e.name, (byNode.get(e.name) ?? 0) + e.dur);
    shapes.set(e.name, (e.args?.input_type_shape ?? []).map((o) => JSON.stringify(Object.values(o)[0])).join(' '));
    total += e.dur;
  }
  console.log(`ORT kernel time per run: ${(total / runs / 1000).toFixed(1)} ms (${file})`);
  for (const [k, v] of [...byType].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${k.padEnd(28)} ${(v / runs / 1000).toFixed(1).padStart(8)} ms  ${((100 * v) / total).toFixed(1)}%`);
  const byScope = new Map<string, number>();
  for (const [k, v] of byNode) {
    const key = `${k.split('/')[0]} ${k.split('/')[1]?.replace(/_\d+_kernel_time$/, '')}`;
    byScope.set(key, (byScope.get(key) ?? 0) + v);
  }
  console.log('by scope and operator:');
  for (const [k, v] of [...byScope].sort((a, b) => b[1] - a[1]).slice(0, 16)) console.log(`  ${k.padEnd(28)} ${(v / runs / 1000).toFixed(1).padStart(8)} ms`);
  console.log('top nodes:');
  for (const [k, v] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${k.replace('_kernel_time', '').padEnd(28)} ${(v / runs / 1000).toFixed(2).padStart(8)} ms  ${shapes.get(k)}`);
  rmSync(file, { force: true });
}
