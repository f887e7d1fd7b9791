// Test helpers shared by the generator packages (Node only; not part of the runtime API).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { normalizedKey, type ChatRow, type Example, type InstructionRow, type Row } from "./rows.js";

const run = promisify(execFile);

export interface IndependentReport {
  rows: number;
  formatErrors: string[];
  duplicates: number;
  categories: Record<string, number>;
}

/**
 * Our own checks of a JSONL text, independent of the generator: each line is JSON with the fields of its format
 * (non-empty strings), duplicates after normalization, and category counts.
 */
export function independentChecks(jsonl: string): IndependentReport {
  const lines = jsonl.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const formatErrors: string[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  const categories: Record<string, number> = {};
  lines.forEach((line, i) => {
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      formatErrors.push(`line ${i + 1}: not JSON`);
      return;
    }
    const r = row as Partial<InstructionRow & ChatRow>;
    let example: Example | undefined;
    let system: string | undefined;
    if (Array.isArray(r.messages)) {
      const user = r.messages.find((m) => m.role === "user");
      const assistant = r.messages.find((m) => m.role === "assistant");
      system = r.messages.find((m) => m.role === "system")?.content;
      if (!user?.content?.trim() || !assistant?.content?.trim())
        formatErrors.push(`line ${i + 1}: chat row without user and assistant text`);
      else example = { instruction: user.content, output: assistant.content };
    } else if (typeof r.instruction === "string" && typeof r.output === "string") {
      if (!r.instruction.trim() || !r.output.trim()) formatErrors.push(`line ${i + 1}: empty instruction or output`);
      if (r.input !== undefined && typeof r.input !== "string") formatErrors.push(`line ${i + 1}: input is not a string`);
      example = { instruction: r.instruction, output: r.output, ...(r.input ? { input: r.input } : {}) };
      system = r.system;
    } else formatErrors.push(`line ${i + 1}: neither an instruction nor a chat row`);
    if (typeof r.category !== "string" || !r.category) formatErrors.push(`line ${i + 1}: no category`);
    else categories[r.category] = (categories[r.category] ?? 0) + 1;
    if (example) {
      const key = normalizedKey(example, system);
      if (seen.has(key)) duplicates++;
      seen.add(key);
    }
  });
  return { rows: lines.length, formatErrors, duplicates, categories };
}

/** Largest gap, in percentage points, between the requested shares and the actual category counts. */
export function distributionGap(categories: Record<string, number>, requested: Record<string, number>): number {
  const total = Object.values(categories).reduce((a, b) => a + b, 0);
  const requestedTotal = Object.values(requested).reduce((a, b) => a + b, 0);
  let gap = 0;
  for (const name of new Set([...Object.keys(categories), ...Object.keys(requested)])) {
    const actual = total ? (categories[name] ?? 0) / total : 0;
    const want = (requested[name] ?? 0) / requestedTotal;
    gap = Math.max(gap, Math.abs(actual - want) * 100);
  }
  return gap;
}

function findUp(from: string, relative: string): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`cannot find ${relative} above ${from}`);
  }
}

export interface PackResult {
  /** The folder the tarball was installed into. */
  dir: string;
  tarball: string;
  stdout: string;
  stderr: string;
}

/**
 * Builds a package with tsup, packs it with `pnpm pack`, installs the tarball into an empty folder with npm and runs
 * its bin there with the given arguments. A package whose bundle is self-contained installs `--offline`. One that
 * depends on other @neural packages (generator-cypher on @neural/cypher, rather than carrying Neo4j's parser twice)
 * gets their tarballs too (packed, so built, by pnpm), and their third-party dependencies from npm's cache or registry.
 */
export async function packInstallAndRun(packageDir: string, bin: string, args: readonly string[]): Promise<PackResult> {
  const tsup = findUp(packageDir, "node_modules/.bin/tsup");
  await run(tsup, [], { cwd: packageDir, env: { ...process.env, NODE_ENV: "production" } });
  const work = await mkdtemp(join(tmpdir(), "neural-pack-"));
  // pnpm pack, as `changeset publish` does: workspace:* ranges become real versions. Built first, so no prepack build.
  const pack = async (dir: string) =>
    (
      JSON.parse(
        (await run("npx", ["-y", "pnpm@12.4.2", "pack", "--json", "--ignore-scripts", "--pack-destination", work], { cwd: dir })).stdout,
      ) as { filename: string }
    ).filename;
  const tarball = await pack(packageDir);
  const manifest = JSON.parse(await readFile(join(packageDir, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
  const require = createRequire(join(packageDir, "package.json"));
  const ours = Object.entries(manifest.dependencies ?? {}).filter(([, range]) => range.startsWith("workspace:"));
  const overrides: Record<string, string> = {};
  for (const [name] of ours) {
    const depDir = dirname(require.resolve(`${name}/package.json`));
    await run("npx", ["-y", "pnpm@12.4.2", "--silent", "run", "build"], { cwd: depDir });
    overrides[name] = `file:${await pack(depDir)}`;
  }
  const dir = join(work, "app");
  await run("mkdir", ["-p", dir]);
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "pack-test", private: true, version: "0.0.0", overrides }));
  const mode = ours.length ? "--prefer-offline" : "--offline";
  await run("npm", ["install", mode, "--no-audit", "--no-fund", "--ignore-scripts", tarball], { cwd: dir, maxBuffer: 64 << 20 });
  const installed = await readdir(join(dir, "node_modules", ".bin"));
  if (!installed.includes(bin)) throw new Error(`bin ${bin} not installed; have ${installed.join(", ")}`);
  const result = await run(join(dir, "node_modules", ".bin", bin), [...args], { cwd: dir, maxBuffer: 64 << 20 });
  return { dir, tarball, stdout: result.stdout, stderr: result.stderr };
}

export type { Row };
