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

/**
 * Prints the summary of `file` (`top` nodes listed) and deletes it (kept when `KEEP_PROFILE` is
 * set). Each node counts with the median of its kernel times over the runs, so the warm-up runs
 * (first allocations) do not weigh in; `runs` is only checked against the count seen.
 */
export function summariseProfile(file: string, runs: number, top = 30): void {
  const events = JSON.parse(readFileSync(file, 'utf8')) as Array<{ cat: string; name: string; dur: number; args?: { op_name?: string; input_type_shape?: Array<Record<string, number[]>> } }>;
  const shapes = new Map<string, string>();
  const types = new Map<string, string>();
  const times = new Map<string, number[]>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    types.set(e.name, e.args?.op_name ?? '?');
    (times.get(e.name) ?? times.set(e.name, []).get(e.name)!).push(e.dur);
    shapes.set(e.name, (e.args?.input_type_shape ?? []).map((o) => JSON.stringify(Object.values(o)[0])).join(' '));
  }
  const byNode = new Map<string, number>();
  const byType = new Map<string, number>();
  let total = 0;
  for (const [name, ts] of times) {
    if (ts.length !== runs) console.log(`  (node ${name} ran ${ts.length} times, not ${runs})`);
    const med = [...ts].sort((a, b) => a - b)[ts.length >> 1];
    byNode.set(name, med);
    byType.set(types.get(name)!, (byType.get(types.get(name)!) ?? 0) + med);
    total += med;
  }
  console.log(`ORT kernel time per run (sum of each node's median): ${(total / 1000).toFixed(1)} ms (${file})`);
  for (const [k, v] of [...byType].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${k.padEnd(28)} ${(v / 1000).toFixed(1).padStart(8)} ms  ${((100 * v) / total).toFixed(1)}%`);
  const byScope = new Map<string, number>();
  for (const [k, v] of byNode) {
    const key = `${k.split('/')[0]} ${k.split('/')[1]?.replace(/_\d+_kernel_time$/, '')}`;
    byScope.set(key, (byScope.get(key) ?? 0) + v);
  }
  console.log('by scope and operator:');
  for (const [k, v] of [...byScope].sort((a, b) => b[1] - a[1]).slice(0, 16)) console.log(`  ${k.padEnd(28)} ${(v / 1000).toFixed(1).padStart(8)} ms`);
  console.log('top nodes:');
  for (const [k, v] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${k.replace('_kernel_time', '').padEnd(28)} ${(v / 1000).toFixed(2).padStart(8)} ms  ${shapes.get(k)}`);
  if (!process.env.KEEP_PROFILE) rmSync(file, { force: true });
}
