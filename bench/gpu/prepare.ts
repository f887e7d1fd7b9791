// Builds the GPU check's bundle, bench/out/gpu/neural-gpu.tar.xz, for GPU machines that have Python, PyTorch, PEFT
// and the NVIDIA driver but no Node and no network, and take at most 64 MiB of files:
//   neural-gpu/node                         this machine's Node binary (glibc ≥ 2.28)
//   neural-gpu/step.mjs                     bench/gpu/step.ts with the trainer bundled in (esbuild, one file)
//   neural-gpu/node_modules/onnxruntime-*   onnxruntime-node (its linux-x64 library has the WebGPU provider) + common
//   neural-gpu/torch_peft_step.py           the PyTorch + PEFT anchor
//   neural-gpu/lib/libvulkan.so.1           the Vulkan loader (Dawn needs it), where one is given or installed here;
//                                           run.py uses it only when the GPU machine has none
// Rebuilt only when an input changed. Run: npx tsx --conditions=source bench/gpu/prepare.ts [--vulkan-loader FILE]
// (or `pnpm bench gpu`). A loader for a machine without one: `apt-get download libvulkan1`, `dpkg-deb -x` it, and
// give its usr/lib/x86_64-linux-gnu/libvulkan.so.1.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const benchDir = path.resolve(here, "..");
export const BUNDLE = path.join(benchDir, "out", "gpu", "neural-gpu.tar.xz");
/** What one run on a GPU machine may carry. */
export const BUNDLE_LIMIT_BYTES = 64 * 2 ** 20;

export interface Prepared {
  bundle: string;
  bytes: number;
  rebuilt: boolean;
  parts: Record<string, number>;
}

/** esbuild as tsup (a root devDependency) has it: no dependency of its own for one bundling step. */
async function esbuild(): Promise<{ build(options: Record<string, unknown>): Promise<unknown> }> {
  const fromRoot = createRequire(path.join(benchDir, "..", "package.json"));
  const fromTsup = createRequire(fromRoot.resolve("tsup"));
  return (await import(fromTsup.resolve("esbuild"))) as { build(options: Record<string, unknown>): Promise<unknown> };
}

/** The folder of package `name` holding `file` (for packages whose exports hide their package.json). */
function packageRoot(file: string, name: string): string {
  let dir = path.dirname(file);
  const named = (d: string) =>
    existsSync(path.join(d, "package.json")) &&
    (JSON.parse(readFileSync(path.join(d, "package.json"), "utf8")) as { name?: string }).name === name;
  while (!named(dir)) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${file}`);
    dir = up;
  }
  return dir;
}

/** The Vulkan loader to carry: `given` (kept beside the bundle for later builds), else the one kept, else this machine's. */
function vulkanLoader(given?: string): string | undefined {
  const kept = path.join(path.dirname(BUNDLE), "libvulkan.so.1");
  if (given) {
    if (!existsSync(given)) throw new Error(`no Vulkan loader at ${given}`);
    mkdirSync(path.dirname(kept), { recursive: true });
    if (path.resolve(given) !== kept) copyFileSync(given, kept);
    return kept;
  }
  for (const candidate of [kept, "/usr/lib/x86_64-linux-gnu/libvulkan.so.1", "/usr/lib64/libvulkan.so.1"]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export async function prepareGpuBundle(options: { force?: boolean; vulkanLoader?: string } = {}): Promise<Prepared> {
  if (process.platform !== "linux" || process.arch !== "x64")
    throw new Error("the GPU bundle is built on linux-x64 (its Node binary and onnxruntime library are this machine's)");
  const outDir = path.dirname(BUNDLE);
  const stage = path.join(outDir, "stage");
  const top = path.join(stage, "neural-gpu");
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(top, { recursive: true });

  const { build } = await esbuild();
  await build({
    entryPoints: [path.join(here, "step.ts")],
    outfile: path.join(top, "step.mjs"),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["source"],
    external: ["onnxruntime-node"],
    // CommonJS dependencies inside an ES module bundle call require().
    banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
    logLevel: "error",
    legalComments: "none",
  });
  copyFileSync(path.join(here, "torch_peft_step.py"), path.join(top, "torch_peft_step.py"));

  const requireFromBench = createRequire(path.join(benchDir, "package.json"));
  const ortDir = path.dirname(requireFromBench.resolve("onnxruntime-node/package.json"));
  const commonDir = packageRoot(createRequire(path.join(ortDir, "package.json")).resolve("onnxruntime-common"), "onnxruntime-common");
  const ortTarget = path.join(top, "node_modules", "onnxruntime-node");
  for (const part of ["package.json", "dist", path.join("bin", "napi-v6", "linux", "x64")])
    cpSync(path.join(ortDir, part), path.join(ortTarget, part), { recursive: true });
  const commonTarget = path.join(top, "node_modules", "onnxruntime-common");
  for (const part of ["package.json", "dist"]) cpSync(path.join(commonDir, part), path.join(commonTarget, part), { recursive: true });

  const loader = vulkanLoader(options.vulkanLoader);
  if (loader) {
    mkdirSync(path.join(top, "lib"));
    copyFileSync(loader, path.join(top, "lib", "libvulkan.so.1"));
  }

  const nodeBinary = path.join(top, "node");
  copyFileSync(process.execPath, nodeBinary);
  chmodSync(nodeBinary, 0o755);

  // Inputs' fingerprint: the bundled script, the node binary's version, onnxruntime's version, the anchor.
  const hash = createHash("sha256");
  hash.update(readFileSync(path.join(top, "step.mjs")));
  hash.update(readFileSync(path.join(top, "torch_peft_step.py")));
  hash.update(process.version);
  hash.update(readFileSync(path.join(ortDir, "package.json")));
  if (loader) hash.update(readFileSync(loader));
  const fingerprint = hash.digest("hex");
  const stampFile = `${BUNDLE}.inputs`;
  const parts: Record<string, number> = {
    node: statSync(nodeBinary).size,
    "step.mjs": statSync(path.join(top, "step.mjs")).size,
    "libonnxruntime.so.1": statSync(path.join(ortTarget, "bin", "napi-v6", "linux", "x64", "libonnxruntime.so.1")).size,
    ...(loader ? { "libvulkan.so.1": statSync(loader).size } : {}),
  };
  if (!options.force && existsSync(BUNDLE) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === fingerprint) {
    rmSync(stage, { recursive: true, force: true });
    return { bundle: BUNDLE, bytes: statSync(BUNDLE).size, rebuilt: false, parts };
  }
  const temp = `${BUNDLE}.partial-${process.pid}`;
  const tar = spawnSync("sh", ["-c", `tar -C "${stage}" -cf - neural-gpu | xz -T2 -6 > "${temp}"`], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  rmSync(stage, { recursive: true, force: true });
  if (tar.status !== 0) {
    rmSync(temp, { force: true });
    throw new Error(`tar | xz failed (${tar.status})`);
  }
  renameSync(temp, BUNDLE);
  writeFileSync(stampFile, fingerprint);
  return { bundle: BUNDLE, bytes: statSync(BUNDLE).size, rebuilt: true, parts };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf("--vulkan-loader");
  const p = await prepareGpuBundle({ force: process.argv.includes("--force"), ...(at > 0 ? { vulkanLoader: process.argv[at + 1] } : {}) });
  console.log(
    `${p.bundle}: ${(p.bytes / 2 ** 20).toFixed(1)} MiB (limit ${BUNDLE_LIMIT_BYTES / 2 ** 20} MiB)${p.rebuilt ? "" : ", up to date"}`,
  );
  if (p.bytes > BUNDLE_LIMIT_BYTES) process.exit(1);
}
