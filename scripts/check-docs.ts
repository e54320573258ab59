/**
 * Keeps the documentation's code true (CI runs it: `npm run check:docs`):
 *  - every ```ts block of README.md and docs/*.md is type-checked as a module of its own, with
 *    'irsde' and 'irsde/node' resolving to this repo's sources (strict, noUnusedLocals off): a
 *    block must declare what it uses (`declare const photo: FloatImage;` for inputs it takes
 *    from elsewhere);
 *  - every `irsde <command> --flag` (or `node dist/cli.js ...`) line of a ```bash block must name
 *    a real command and only that command's options.
 *
 *   npx tsx scripts/check-docs.ts [files...]     # prints each problem; exit code 1 if any
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
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
  const problems = [...checkTsBlocks(blocks), ...checkCliLines(blocks, buildProgram())];
  for (const p of problems) console.error(p);
  const n = (lang: string[]) => blocks.filter((b) => lang.includes(b.lang)).length;
  if (problems.length > 0) {
    console.error(`check-docs: ${problems.length} problem(s)`);
    process.exit(1);
  }
  console.log(`check-docs: ${n(['ts', 'typescript'])} TypeScript blocks type-check and ${n(['bash', 'sh'])} shell blocks name real irsde commands and options (${files.map((f) => relative(ROOT, f)).join(', ')})`);
}
