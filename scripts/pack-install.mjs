#!/usr/bin/env node
// The packages as a user gets them: packs every public package of the workspace (`pnpm pack`, so each is built by its
// prepack script and its manifest goes through .pnpmfile.cjs), checks what each tarball holds, installs the tarballs
// with npm into an empty folder outside the workspace (third-party dependencies from the registry, ours only from the
// tarballs), and runs there what a user would: neural --version and --help (timed), generate, validate, a two-step
// train, export --verify (llama.cpp) with its Modelfile, run with a piped prompt, inspect, `node --conditions=source`,
// and the gguf-writer example. Run by .ci/run; locally:
//   node scripts/pack-install.mjs [--no-build] [--keep]
// --no-build packs the dist/ already built (pnpm pack --ignore-scripts); --keep leaves the folder for a look.
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const noBuild = process.argv.includes("--no-build");
const keep = process.argv.includes("--keep");
const PNPM = ["--yes", "pnpm@12.4.2"];
const work = mkdtempSync(path.join(tmpdir(), "neural-pack-install-"));
const tarballs = path.join(work, "tarballs");
const project = path.join(work, "project");
mkdirSync(tarballs);
mkdirSync(project);

let passed = 0;
let failed = 0;
function check(what, ok, detail = "") {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${detail ? `: ${detail}` : ""}`);
}

function run(cmd, args, options = {}) {
  const started = performance.now();
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 28, ...options });
  return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", seconds: (performance.now() - started) / 1000 };
}

// ---- pack ----
const packages = ["packages", "apps"]
  .flatMap((folder) => readdirSync(path.join(root, folder)).map((name) => path.join(root, folder, name)))
  .filter((dir) => existsSync(path.join(dir, "package.json")))
  .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) }))
  .filter((p) => p.manifest.private !== true);
const tarballOf = new Map();
for (const { dir, manifest } of packages) {
  const before = new Set(readdirSync(tarballs));
  const r = run("npx", [...PNPM, "pack", "--pack-destination", tarballs, ...(noBuild ? ["--ignore-scripts"] : [])], { cwd: dir });
  const made = readdirSync(tarballs).filter((f) => !before.has(f));
  if (r.code !== 0 || made.length !== 1) {
    console.error(r.stdout, r.stderr);
    check(`pack ${manifest.name}`, false);
    continue;
  }
  tarballOf.set(manifest.name, path.join(tarballs, made[0]));
}

// ---- what each tarball holds ----
const sizes = [];
for (const [name, file] of tarballOf) {
  const listing = execFileSync("tar", ["-tvzf", file], { encoding: "utf8" }).trim().split("\n");
  const entries = listing.map((line) => {
    const parts = line.trim().split(/\s+/);
    return {
      size: Number(parts[2]),
      path: parts
        .slice(5)
        .join(" ")
        .replace(/^package\//, ""),
    };
  });
  const manifest = JSON.parse(execFileSync("tar", ["-xzOf", file, "package/package.json"], { encoding: "utf8" }));
  const paths = new Set(entries.map((e) => e.path));
  const named = [];
  const walk = (v) => (typeof v === "string" ? named.push(v) : v && typeof v === "object" ? Object.values(v).forEach(walk) : undefined);
  walk(manifest.exports);
  walk(manifest.bin);
  named.push(manifest.main, manifest.types);
  const missing = named.filter((t) => t && !paths.has(path.posix.normalize(t)));
  check(`${name}: every file its manifest names is in the tarball`, missing.length === 0, missing.join(", "));
  check(`${name}: no "source" export condition`, !JSON.stringify(manifest.exports ?? {}).includes('"source"'));
  check(`${name}: no src/ or spec files`, !entries.some((e) => e.path.startsWith("src/") || /\.spec\./.test(e.path)));
  const maps = entries.filter((e) => e.path.endsWith(".map"));
  if (name.startsWith("@neural/generator-") || name === "@neural/cli")
    check(`${name}: no source maps (a bundle or an app)`, maps.length === 0, maps.map((m) => m.path).join(", "));
  const unpacked = entries.reduce((a, e) => a + e.size, 0);
  const largest = entries.reduce((a, e) => (e.size > a.size ? e : a), { size: 0, path: "" });
  // Neo4j's parser bundle is 16 MB: only @neural/cypher's dependency may carry it, never a second package.
  check(`${name}: no file over 4 MB`, largest.size <= 4e6, `${largest.path} ${(largest.size / 1e6).toFixed(1)} MB`);
  sizes.push(`${name} ${(unpacked / 1e6).toFixed(2)} MB unpacked (${entries.length} files, ${maps.length} maps)`);
}
console.log(sizes.map((s) => `     ${s}`).join("\n"));

// ---- install into an empty folder, without the workspace ----
const overrides = Object.fromEntries([...tarballOf].map(([name, file]) => [name, `file:${file}`]));
const direct = ["@neural/cli", "@neural/gguf-writer", "@neural/quantize"];
writeFileSync(
  path.join(project, "package.json"),
  JSON.stringify(
    {
      name: "neural-consumer",
      version: "1.0.0",
      private: true,
      type: "module",
      dependencies: Object.fromEntries(direct.map((d) => [d, overrides[d]])),
      overrides,
    },
    null,
    2,
  ),
);
// Install scripts that would download (onnxruntime-node's CUDA libraries from NuGet, node-llama-cpp's builds) are told not to.
const env = {
  ...process.env,
  ONNXRUNTIME_NODE_INSTALL: "skip",
  NODE_LLAMA_CPP_SKIP_DOWNLOAD: "true",
  npm_config_fund: "false",
  npm_config_audit: "false",
  npm_config_update_notifier: "false",
};
for (const k of Object.keys(env)) if (k.startsWith("npm_package_") || k === "INIT_CWD" || k === "npm_lifecycle_event") delete env[k];
const install = run("npm", ["install", "--no-audit", "--no-fund", "--loglevel", "error"], { cwd: project, env });
check(
  "npm install of the tarballs into an empty folder",
  install.code === 0,
  `${install.seconds.toFixed(0)} s${install.code ? `\n${install.stdout}${install.stderr}` : ""}`,
);
if (install.code === 0) {
  const lock = JSON.parse(readFileSync(path.join(project, "package-lock.json"), "utf8"));
  const ours = Object.entries(lock.packages).filter(([p]) => /(^|\/)node_modules\/@neural\//.test(p));
  const fromRegistry = ours.filter(([, v]) => !String(v.resolved ?? "").startsWith("file:"));
  check(
    `every installed @neural package (${ours.length}) came from a tarball`,
    ours.length > 0 && fromRegistry.length === 0,
    fromRegistry.map(([p]) => p).join(", "),
  );

  // ---- run it where a user would: a folder of their own ----
  const user = path.join(project, "work");
  mkdirSync(user);
  const neural = (...args) => run(path.join(project, "node_modules", ".bin", "neural"), args, { cwd: user, env });
  const cliVersion = JSON.parse(readFileSync(path.join(project, "node_modules", "@neural", "cli", "package.json"), "utf8")).version;
  const v = neural("--version");
  check("neural --version", v.code === 0 && v.stdout.trim() === cliVersion, v.stdout.trim() || v.stderr);
  const timings = (args) => {
    const runs = Array.from({ length: 5 }, () => run("npx", ["--no-install", "@neural/cli", ...args], { cwd: user, env }));
    const seconds = runs.map((r) => r.seconds).sort((a, b) => a - b);
    return { ok: runs.every((r) => r.code === 0), median: seconds[2], best: seconds[0] };
  };
  const help = timings(["--help"]);
  const version = timings(["--version"]);
  check(
    "npx @neural/cli --help / --version",
    help.ok && version.ok,
    `--help median ${help.median.toFixed(2)} s (best ${help.best.toFixed(2)}), --version median ${version.median.toFixed(2)} s`,
  );
  const bare = Array.from({ length: 5 }, () => neural("--help").seconds).sort((a, b) => a - b)[2];
  console.log(`     neural --help (the installed bin, no npx) median ${bare.toFixed(2)} s`);
  const gen = neural("generate", "tlp", "--count", "60", "--seed", "7", "--output", "data/tlp.jsonl");
  check(
    "neural generate tlp writes under the current folder",
    gen.code === 0 && existsSync(path.join(user, "data", "tlp.jsonl")),
    gen.stderr.trim().split("\n").at(-1),
  );
  const val = neural("validate", "data/tlp.jsonl");
  check("neural validate", val.code === 0 && /60 records, 60 valid/.test(val.stdout), val.stdout.split("\n")[0] || val.stderr);
  const train = neural(
    ..."train --from_scratch --hidden_size 32 --num_hidden_layers 1 --num_attention_heads 2 --intermediate_size 64 --vocab_size 300 --dataset data/tlp.jsonl --output_dir out/tiny --max_length 1024 --batch_size 2 --max_steps 2 --eval_steps 2 --no-eval_generate --threads 1 --device cpu".split(
      " ",
    ),
  );
  check(
    "neural train (the worker thread from dist/) writes a model under the current folder",
    train.code === 0 && existsSync(path.join(user, "out", "tiny", "config.json")),
    (train.stdout + train.stderr).trim().split("\n").at(-1),
  );

  // llama.cpp (node-llama-cpp's prebuilt binary, in @neural/llama's child process) from the installed packages.
  const exported = neural("export", "--model_dir", "out/tiny", "--output", "tiny.gguf", "--quantization", "F16", "--verify");
  check(
    "neural export --verify (llama.cpp loads it) writes tiny.gguf and tiny.Modelfile",
    exported.code === 0 && existsSync(path.join(user, "tiny.Modelfile")),
    (exported.stdout + exported.stderr)
      .trim()
      .split("\n")
      .find((l) => l.startsWith("verify:")) ?? exported.stderr,
  );
  const piped = run(path.join(project, "node_modules", ".bin", "neural"), ["run", "tiny.gguf", "--max_tokens", "4", "--json"], {
    cwd: user,
    env,
    input: "Which label?\n",
  });
  check(
    "neural run reads the prompt piped to stdin",
    piped.code === 0 && JSON.parse(piped.stdout || "{}").prompt_tokens > 0,
    piped.stdout.trim() || piped.stderr.trim(),
  );

  // The gguf-writer example, copied out of the repository and run with plain node against the installed packages.
  copyFileSync(path.join(root, "examples", "gguf-roundtrip.mjs"), path.join(user, "gguf-roundtrip.mjs"));
  const example = run(process.execPath, ["gguf-roundtrip.mjs", "example.gguf"], { cwd: user, env });
  check(
    "examples/gguf-roundtrip.mjs",
    example.code === 0 && existsSync(path.join(user, "example.gguf")),
    (example.stdout + example.stderr).trim().split("\n").at(-1),
  );
  const inspect = neural("inspect", "example.gguf");
  check(
    "neural inspect names the file type",
    inspect.code === 0 && /general\.file_type\s+u32\s+MOSTLY_Q4_K_M \(15\)/.test(inspect.stdout),
    inspect.stdout.split("\n").find((l) => l.includes("file_type")) ?? inspect.stderr,
  );

  // A consumer's own "source" condition (tsx, vite, jest configs use it) resolves to files that exist.
  const conditions = run(
    process.execPath,
    [
      "--conditions=source",
      "--input-type=module",
      "-e",
      `for (const p of ${JSON.stringify(direct.slice(1))}) await import(p); console.log("ok")`,
    ],
    { cwd: user, env },
  );
  check(
    "node --conditions=source imports the packages",
    conditions.code === 0,
    (conditions.stdout + conditions.stderr).trim().split("\n")[0],
  );
}

if (keep) console.log(`kept ${work}`);
else rmSync(work, { recursive: true, force: true });
console.log(`pack-install: ${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
