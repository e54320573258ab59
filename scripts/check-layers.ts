/**
 * The layering check (CI runs it: `npm run check:layers`). Reads every `.ts` file under `src/`,
 * takes its imports (value and type-only, re-exports, dynamic `import()` and `import('...')`
 * types) and fails on:
 *  - an upward import: a file importing a ring outside its own (RINGS, from the inside out);
 *  - Node-only code reachable from browser-safe code: a Node built-in (`node:*`, `fs`, ...) or
 *    `onnxruntime-node` imported outside NODE_ONLY, or a NODE_ONLY file imported from outside it;
 *  - an import cycle between files, or between sibling folders at any depth (`nn/unet` <->
 *    `nn/onnx` counts even when no two files form a cycle; a folder and its own subfolder, like
 *    `cli` and `cli/commands`, are one unit).
 *
 *   npx tsx scripts/check-layers.ts [srcDir]     # prints each violation; exit code 1 if any
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The rings of `src/`, from the inside out. A file may import its own ring and rings listed before
 * it. The entry files `index.ts` (browser-safe API) and `node.ts` (`irsde/node`) sit outside every
 * ring but `cli`; `cli` is the outermost.
 */
export const RINGS = ['backend', 'image', 'data', 'sde', 'loss', 'sampling', 'nn', 'engine', 'train', 'pipeline', 'web', 'io', 'train-run', 'entry', 'cli'] as const;

/** Node-only paths (relative to src, '/'-separated; a trailing '/' means the whole folder). */
export const NODE_ONLY = ['io/', 'train-run/', 'cli/', 'train/parallel/', 'nn/onnx/node.ts', 'node.ts'];

/** Packages that only work in Node (besides Node's built-in modules). */
const NODE_PACKAGES = ['onnxruntime-node'];

/** One broken rule. */
export interface Violation {
  readonly rule: 'upward' | 'node-only' | 'file-cycle' | 'folder-cycle' | 'unresolved';
  readonly message: string;
}

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listTs(p));
    else if (/\.(c|m)?ts$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every module specifier a file names: imports, re-exports, `import()` calls and types. */
export function importsOf(text: string, fileName = 'x.ts'): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      found.push(node.moduleReference.expression.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments.length > 0 && ts.isStringLiteralLike(node.arguments[0])) {
      found.push(node.arguments[0].text);
    } else if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'require' && node.arguments.length > 0 && ts.isStringLiteralLike(node.arguments[0])) {
      found.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, m.split('/')[0]]));

function isNodeBuiltin(spec: string): boolean {
  return spec.startsWith('node:') || BUILTINS.has(spec) || BUILTINS.has(spec.split('/')[0]);
}

function isNodePackage(spec: string): boolean {
  return NODE_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`));
}

/** The ring of a src-relative path ('/'-separated). */
export function ringOf(rel: string): (typeof RINGS)[number] {
  if (!rel.includes('/')) return 'entry';
  const top = rel.split('/')[0];
  const ring = RINGS.find((r) => r === top);
  if (ring === undefined) throw new Error(`check-layers: src/${rel} is in folder '${top}', which has no ring; add it to RINGS in scripts/check-layers.ts (and the README's Architecture section)`);
  return ring;
}

function isNodeOnly(rel: string): boolean {
  return NODE_ONLY.some((p) => (p.endsWith('/') ? rel.startsWith(p) : rel === p));
}

/**
 * The two sibling folders an import between folders `a` and `b` crosses (the children of their
 * deepest common folder: `nn/unet` -> `nn/onnx`, `train/parallel` -> `nn/io` gives `train` -> `nn`);
 * null inside one folder or between a folder and its own subfolder (`cli` and `cli/commands`).
 */
function siblings(a: string, b: string): [string, string] | null {
  const pa = a === '.' ? [] : a.split('/');
  const pb = b === '.' ? [] : b.split('/');
  let i = 0;
  while (i < pa.length && i < pb.length && pa[i] === pb[i]) i++;
  if (i === pa.length || i === pb.length) return null;
  return [pa.slice(0, i + 1).join('/'), pb.slice(0, i + 1).join('/')];
}

/** Strongly connected components with more than one node, or a node with a self-edge. */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || graph.get(v)?.has(v)) out.push(comp.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) strong(v);
  return out;
}

/** One path around a cycle inside `comp`, for the message. */
function cyclePath(graph: Map<string, Set<string>>, comp: string[]): string {
  const inComp = new Set(comp);
  const start = comp[0];
  const prev = new Map<string, string>();
  const queue = [start];
  const seen = new Set([start]);
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of [...(graph.get(v) ?? [])].sort()) {
      if (!inComp.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(prev.get(path[0])!);
        return [...path, start].join(' -> ');
      }
      if (!seen.has(w)) {
        seen.add(w);
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return comp.join(', ');
}

/** Checks the tree under `srcDir`; returns every violation (empty: the layering holds). */
export function checkLayers(srcDir: string): Violation[] {
  const root = resolve(srcDir);
  const files = listTs(root);
  const relOf = (abs: string) => relative(root, abs).split(sep).join('/');
  const known = new Set(files.map(relOf));
  const violations: Violation[] = [];
  const fileGraph = new Map<string, Set<string>>();
  const folderGraph = new Map<string, Set<string>>();
  const folderEdge = new Map<string, string>();

  for (const abs of files) {
    const from = relOf(abs);
    ringOf(from);
    const edges = new Set<string>();
    fileGraph.set(from, edges);
    for (const spec of importsOf(readFileSync(abs, 'utf8'), abs)) {
      if (!spec.startsWith('.')) {
        if ((isNodeBuiltin(spec) || isNodePackage(spec)) && !isNodeOnly(from)) {
          violations.push({ rule: 'node-only', message: `src/${from} imports '${spec}', which only exists in Node; browser-safe code must not (Node-only code lives in ${NODE_ONLY.join(', ')})` });
        }
        continue;
      }
      const base = relOf(resolve(dirname(abs), spec)).replace(/\.(c|m)?js$/, '');
      const to = [`${base}.ts`, `${base}.mts`, `${base}.cts`, `${base}/index.ts`].find((c) => known.has(c));
      if (to === undefined) {
        violations.push({ rule: 'unresolved', message: `src/${from} imports '${spec}', which is no file under src/` });
        continue;
      }
      edges.add(to);
      const [rf, rt] = [ringOf(from), ringOf(to)];
      if (RINGS.indexOf(rt) > RINGS.indexOf(rf)) {
        violations.push({ rule: 'upward', message: `src/${from} (ring '${rf}') imports src/${to} (ring '${rt}'): a ring imports only rings inside it (${RINGS.join(' < ')})` });
      }
      if (isNodeOnly(to) && !isNodeOnly(from)) {
        violations.push({ rule: 'node-only', message: `src/${from} is browser-safe but imports the Node-only src/${to}` });
      }
      const sib = siblings(dirname(from), dirname(to));
      if (sib !== null) {
        const [df, dt] = sib;
        if (!folderGraph.has(df)) folderGraph.set(df, new Set());
        folderGraph.get(df)!.add(dt);
        if (!folderEdge.has(`${df} ${dt}`)) folderEdge.set(`${df} ${dt}`, `src/${from} -> src/${to}`);
      }
    }
  }
  for (const comp of cycles(fileGraph)) {
    const path = cyclePath(fileGraph, comp).split(' -> ').map((f) => `src/${f}`).join(' -> ');
    violations.push({ rule: 'file-cycle', message: `import cycle among ${comp.length} files (type-only imports count): ${comp.map((f) => `src/${f}`).join(', ')}; e.g. ${path}` });
  }
  for (const comp of cycles(folderGraph)) {
    const path = cyclePath(folderGraph, comp).split(' -> ');
    const via = path.slice(1).map((d, i) => folderEdge.get(`${path[i]} ${d}`)).join('; ');
    violations.push({ rule: 'folder-cycle', message: `import cycle between folders ${path.map((d) => `src/${d === '.' ? '' : d}`).join(' -> ')} (via ${via})` });
  }
  return violations;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
  const found = checkLayers(dir);
  for (const v of found) console.error(`${v.rule}: ${v.message}`);
  if (found.length > 0) {
    console.error(`check-layers: ${found.length} violation(s) in ${dir}`);
    process.exit(1);
  }
  console.log(`check-layers: ${dir} keeps its rings (${RINGS.join(' < ')}), has no import cycle, and its browser-safe code imports nothing Node-only`);
}
