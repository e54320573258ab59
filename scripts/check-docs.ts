/**
 * Keeps the documentation's code true (CI runs it: `npm run check:docs`):
 *  - every ```ts block of README.md and docs/*.md is type-checked as a module of its own, with
 *    'irsde' and 'irsde/node' resolving to this repo's sources (strict, noUnusedLocals off): a
 *    block must declare what it uses (`declare const photo: FloatImage;` for inputs it takes
 *    from elsewhere);
 *  - every `irsde <command> --flag` (or `node dist/cli.js ...`) line of a ```bash block must name
 *    a real command and only that command's options;
 *  - every file README.md and docs/*.md name (links, and path-like words such as `./diffs.ts` or
 *    `../shared/docs/MATH.md`) is a file of the repository or of the package, and every file the
 *    hover docs of dist/*.d.ts name (after a build; skipped with a note before one) is in the
 *    published package; no "notes at the top of this file" pointing nowhere.
 *
 *   npx tsx scripts/check-docs.ts [files...]     # prints each problem; exit code 1 if any
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** A fenced code block: its language, text and first line (1-based) in `file`. */
export interface CodeBlock {
  readonly file: string;
  readonly lang: string;
  readonly line: number;
  readonly text: string;
}

/** The fenced code blocks of a Markdown text. */
export function codeBlocks(markdown: string, file: string): CodeBlock[] {
  const out: CodeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (open === null) continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && !/^```\s*$/.test(lines[j])) j++;
    out.push({ file, lang: open[1], line: start + 1, text: lines.slice(start, j).join('\n') });
    i = j;
  }
  return out;
}

/** Type-checks the TypeScript blocks; returns tsc's errors mapped back to file:line. */
export function checkTsBlocks(blocks: readonly CodeBlock[]): string[] {
  const ts = blocks.filter((b) => b.lang === 'ts' || b.lang === 'typescript');
  if (ts.length === 0) return [];
  const dir = mkdtempSync(join(ROOT, '.doc-blocks-'));
  try {
    const names = ts.map((b, i) => {
      const name = `block${i}.ts`;
      // `export {}` makes each block a module (top-level await, no shared globals).
      writeFileSync(join(dir, name), `${b.text}\nexport {};\n`);
      return name;
    });
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'], strict: true, noEmit: true,
        skipLibCheck: true, isolatedModules: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')],
        paths: { irsde: [join(ROOT, 'src/index.ts')], 'irsde/advanced': [join(ROOT, 'src/advanced.ts')], 'irsde/node': [join(ROOT, 'src/node.ts')], 'irsde/web': [join(ROOT, 'src/web.ts')], '*': [join(ROOT, 'node_modules/*')] },
      },
      files: names,
    }));
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8' });
    if (r.status === 0) return [];
    const errors: string[] = [];
    for (const l of `${r.stdout}${r.stderr}`.split('\n')) {
      const m = /^(?:.*[/\\])?block(\d+)\.ts\((\d+),(\d+)\): (.*)$/.exec(l.trim());
      if (m === null) {
        if (l.trim() !== '' && !/^\s/.test(l)) errors.push(l.trim());
        continue;
      }
      const b = ts[Number(m[1])];
      errors.push(`${b.file}:${b.line + Number(m[2]) - 1}:${m[3]}: ${m[4]}`);
    }
    return errors;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Checks the `irsde ...` command lines of the bash blocks against the CLI's commands and options. */
export function checkCliLines(blocks: readonly CodeBlock[], program: Command): string[] {
  const problems: string[] = [];
  for (const b of blocks.filter((x) => x.lang === 'bash' || x.lang === 'sh')) {
    // Join continued lines, drop comments.
    const logical = b.text.replace(/\\\n/g, ' ').split('\n');
    logical.forEach((raw, k) => {
      const line = raw.replace(/(^|\s)#.*$/, '').trim();
      const m = /^(?:npx\s+)?(?:irsde|node\s+dist\/cli\.js)\s+(\S+)(.*)$/.exec(line);
      if (m === null) return;
      const where = `${b.file}:${b.line + k}`;
      const cmd = program.commands.find((c) => c.name() === m[1]);
      if (cmd === undefined) {
        problems.push(`${where}: 'irsde ${m[1]}' is no command (commands: ${program.commands.map((c) => c.name()).join(', ')})`);
        return;
      }
      const known = new Set(cmd.options.flatMap((o) => [o.long, o.short]).filter((f): f is string => f !== undefined));
      known.add('--help');
      for (const flag of m[2].match(/(?<=\s|^)--?[a-zA-Z][\w-]*/g) ?? []) {
        if (!known.has(flag)) problems.push(`${where}: 'irsde ${m[1]}' has no option ${flag}`);
      }
    });
  }
  return problems;
}

/** Extensions of the files a text may name that the reference check looks at (sources, docs, scripts, data). */
const REF_EXT = String.raw`(?:d\.ts|md|ts|mts|cts|mjs|cjs|js|py|sh|json|jsonl|svg|png)`;

/** Path-like tokens: `../shared/docs/MATH.md`, `./diffs.ts`, `test/pipeline.test.ts`, `UNET.md`. */
const PATH_TOKEN = new RegExp(String.raw`(?<![\w@/.\-<{*$])((?:\.{1,2}/)*(?:[\w.\-]+/)*[\w\-][\w.\-]*\.${REF_EXT})(?![\w/\-{*])`, 'g');

/** Phrases that point at notes a reader cannot find (the hover text of a bundled `.d.ts` has no "top of this file"). */
const NOWHERE_PHRASES = /\b(?:(?:notes?|comments?) at the top of this (?:file|module)|top of this (?:file|module)|see the notes (?:above|below|in this file))\b/gi;

/** Where a reference may lead: files of the repository, of the published package, and output folders. */
export interface RefTargets {
  /** Whether `rel` (repository-relative, '/'-separated) is a file or folder of the repository or of the package. */
  readonly exists: (rel: string) => boolean;
  /** Whether a file named `name` exists anywhere there (for bare names such as `UNET.md`). */
  readonly hasName: (name: string) => boolean;
  /** Whether `rel` lies in a git-ignored output folder (`runs/`, `data/`, `examples/out/`, ...): a path the docs tell you to create. */
  readonly generated: (rel: string) => boolean;
  /** Whether `rel` is a file of an installed dependency, named from its package (`onnxruntime-web/dist/ort-wasm-simd-threaded.mjs`). */
  readonly dependency: (rel: string) => boolean;
}

/** One path-like reference of a text, with its 1-based line. */
interface Ref {
  readonly target: string;
  readonly line: number;
  readonly link: boolean;
}

/** The references of a text: Markdown link targets and path-like tokens (`text` is prose or code). */
export function referencesOf(text: string): Ref[] {
  const refs: Ref[] = [];
  const lines = text.split('\n');
  lines.forEach((l, i) => {
    for (const m of l.matchAll(/\]\(([^)\s]+)\)/g)) {
      const t = m[1];
      if (/^(?:[a-z]+:|#)/i.test(t)) continue;
      refs.push({ target: t.replace(/#.*$/, ''), line: i + 1, link: true });
    }
    // A link to a web page names a file there (`[codes/utils/sde_utils.py](https://...)`); so do URLs.
    // So does a dependency path of Vite's `optimizeDeps` (`'irsde > fft.js'`: a package, not a file).
    const prose = l.replace(/\[[^\]]*\]\([a-z]+:[^)\s]*\)/gi, '').replace(/\]\([^)\s]+\)/g, ']()').replace(/\b[a-z]+:\/\/\S+/gi, '').replace(/'[\w@/.-]+ > [\w@/.-]+'/g, "''");
    for (const m of prose.matchAll(PATH_TOKEN)) {
      const t = m[1];
      // Placeholders (`RUN_DIR/curves.svg`, `DIR/x.json`) and product names (`TensorFlow.js`, `Node.js`) are no files.
      if (t.split('/').slice(0, -1).some((seg) => /^[A-Z][A-Z0-9_]*$/.test(seg)) || /^[A-Z]\w*\.js$/.test(t)) continue;
      refs.push({ target: t, line: i + 1, link: false });
    }
  });
  return refs;
}

/**
 * The references of `text` (the contents of `file`, repository-relative) that lead nowhere: a
 * relative link or a path-like token (`../shared/docs/MATH.md`, `./diffs.ts`, `UNET.md`, a test
 * file) naming no file of the repository or the package, and phrases such as "the notes at the
 * top of this file". Paths resolve against the file's folder, the repository root and `src/`;
 * bare names against every file's name. Paths into git-ignored output folders (`runs/...`) and
 * `node_modules/` are what the docs tell you to make or install, and pass.
 */
export function checkFileRefs(text: string, file: string, targets: RefTargets): string[] {
  const problems: string[] = [];
  const dir = dirname(file);
  for (const r of referencesOf(text)) {
    const t = r.target.replace(/\/+$/, '');
    if (t === '' || t.startsWith('node_modules/')) continue;
    // `./x` and `../x` are relative to the file; other paths to it, the root or src/ (the README's `nn/arch/ops.ts`).
    const candidates = (/^\.\.?\//.test(t) ? [join(dir, t)] : [join(dir, t), t, join('src', t)]).map((c) => c.split(sep).join('/'));
    if (candidates.some((c) => !c.startsWith('..') && (targets.exists(c) || targets.generated(c))) || targets.dependency(t)) continue;
    if (!t.includes('/') && !r.link && targets.hasName(t)) continue;
    // Output files named in passing (`config.json`, `scores.json`) are not references.
    if (!t.includes('/') && !r.link && /\.(?:jsonl?|png|svg)$/.test(t)) continue;
    const outside = t.startsWith('../') && candidates[0].startsWith('..');
    problems.push(`${file}:${r.line}: '${r.target}' ${outside ? 'is outside the repository and the package' : 'is no file of the repository or the package'}`);
  }
  text.split('\n').forEach((l, i) => {
    for (const m of l.matchAll(NOWHERE_PHRASES)) problems.push(`${file}:${i + 1}: "${m[0]}" points at notes the reader does not have; say it here or name a README section`);
  });
  return problems;
}

/** The comment text of a declaration file (JSDoc and line comments), other lines blanked to keep line numbers. */
export function commentsOf(dts: string): string {
  const out = dts.split('\n').map(() => '');
  const lines = dts.split('\n');
  let inBlock = false;
  lines.forEach((l, i) => {
    let rest = l;
    let text = '';
    while (rest.length > 0) {
      if (inBlock) {
        const end = rest.indexOf('*/');
        text += end < 0 ? rest : rest.slice(0, end);
        if (end < 0) break;
        inBlock = false;
        rest = rest.slice(end + 2);
      } else {
        const start = rest.indexOf('/*');
        const line = rest.indexOf('//');
        if (line >= 0 && (start < 0 || line < start) && !/['"`][^'"`]*$/.test(rest.slice(0, line))) {
          text += rest.slice(line + 2);
          break;
        }
        if (start < 0) break;
        inBlock = true;
        rest = rest.slice(start + 2);
      }
    }
    out[i] = text;
  });
  return out.join('\n');
}

/** The repository's files (not node_modules, .git or git-ignored folders) and the published package's, as a {@link RefTargets}. */
export function repositoryTargets(root = ROOT): RefTargets {
  const ignored = readFileSync(join(root, '.gitignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  // Ignored folders (gitignore semantics: `runs/` at any depth, `examples/out/` from the root); dist/ is the package's.
  const dirs = ignored.filter((l) => l.endsWith('/') && l !== 'dist/').map((l) => l.replace(/^\//, '').replace(/\/$/, ''));
  const generated = (rel: string): boolean =>
    dirs.some((d) => (d.includes('/') ? rel === d || rel.startsWith(`${d}/`) : rel === d || rel.split('/').slice(0, -1).includes(d)));
  const paths = new Set<string>();
  const names = new Set<string>();
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const p = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.name === 'node_modules' || e.name === '.git') continue;
      // dist/ is the package's (built); other ignored folders hold outputs, not references.
      if (e.isDirectory() && generated(p)) continue;
      paths.add(p);
      if (e.isDirectory()) walk(p);
      else names.add(e.name);
    }
  };
  walk('');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  const deps = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]);
  const dependency = (rel: string): boolean => {
    const m = /^((?:@[\w.-]+\/)?[\w.-]+)\/./.exec(rel);
    return m !== null && deps.has(m[1]) && existsSync(join(root, 'node_modules', rel));
  };
  return { exists: (rel) => paths.has(rel.replace(/^\.\//, '')), hasName: (name) => names.has(name), generated, dependency };
}

/** The declaration files of the built package (`dist/*.d.ts`, `dist/*.d.cts`), or none before a build. */
function declarationFiles(): string[] {
  const dist = join(ROOT, 'dist');
  if (!existsSync(dist)) return [];
  return readdirSync(dist).filter((f) => f.endsWith('.d.ts')).map((f) => join(dist, f));
}

/**
 * Declaration files are read by users of the package, who have its files only: there a reference
 * must lead into the package (dist/, the shipped model, README.md, package.json) or be an output path.
 */
export function packageTargets(repo: RefTargets, root = ROOT): RefTargets {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files?: string[] };
  const inPackage = (rel: string): boolean => rel === 'package.json' || (pkg.files ?? []).some((f) => rel === f || rel.startsWith(`${f}/`));
  return {
    exists: (rel) => inPackage(rel.replace(/^\.\//, '')) && repo.exists(rel),
    hasName: (name) => name === 'README.md' || name === 'package.json' || (existsSync(join(root, 'dist')) && readdirSync(join(root, 'dist')).includes(name)),
    generated: repo.generated,
    dependency: repo.dependency,
  };
}

/**
 * References known to lead nowhere that live where this check's author could not edit (the
 * README's Speed section, kept with the benchmarks; src/ folders other work owned). Each is
 * printed as pending on every run, not failed; remove an entry once its text is fixed.
 */
const PENDING: ReadonlyArray<{ readonly file: RegExp; readonly text: string; readonly fix: string }> = [];

/** Splits reference problems into failures and known pending ones (see PENDING). */
function splitPending(problems: readonly string[]): { failed: string[]; pending: string[] } {
  const failed: string[] = [];
  const pending: string[] = [];
  for (const p of problems) {
    const hit = PENDING.find((e) => e.file.test(p.split(':')[0]) && p.includes(e.text));
    if (hit) pending.push(`${p} [pending: ${hit.fix}]`);
    else failed.push(p);
  }
  return { failed, pending };
}

/** README.md and every Markdown file under docs/ (not the generated docs/api). */
function defaultFiles(): string[] {
  const docs = join(ROOT, 'docs');
  const md = readdirSync(docs).filter((f) => f.endsWith('.md')).map((f) => join(docs, f));
  return [join(ROOT, 'README.md'), ...md];
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = process.argv.length > 2 ? process.argv.slice(2).map((f) => resolve(f)) : defaultFiles();
  const blocks = files.flatMap((f) => codeBlocks(readFileSync(f, 'utf8'), relative(ROOT, f)));
  const { buildProgram } = await import('../src/cli/main.js');
  const repo = repositoryTargets();
  const refProblems = files.flatMap((f) => checkFileRefs(readFileSync(f, 'utf8'), relative(ROOT, f), repo));
  const dts = process.argv.length > 2 ? [] : declarationFiles();
  if (process.argv.length <= 2 && dts.length === 0) console.log('check-docs: no dist/*.d.ts (run npm run build first): hover docs not checked');
  const pkg = packageTargets(repo);
  for (const f of dts) refProblems.push(...checkFileRefs(commentsOf(readFileSync(f, 'utf8')), relative(ROOT, f), pkg));
  const { failed, pending } = splitPending(refProblems);
  for (const p of pending) console.warn(`check-docs: ${p}`);
  const problems = [...checkTsBlocks(blocks), ...checkCliLines(blocks, buildProgram()), ...failed];
  for (const p of problems) console.error(p);
  const n = (lang: string[]) => blocks.filter((b) => lang.includes(b.lang)).length;
  if (problems.length > 0) {
    console.error(`check-docs: ${problems.length} problem(s)`);
    process.exit(1);
  }
  console.log(`check-docs: ${n(['ts', 'typescript'])} TypeScript blocks type-check, ${n(['bash', 'sh'])} shell blocks name real irsde commands and options, and every file named leads somewhere${pending.length ? ` but the ${pending.length} pending above` : ''} (${[...files, ...dts].map((f) => relative(ROOT, f)).join(', ')})`);
}
