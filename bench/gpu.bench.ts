// The GPU check (bench/gpu/): builds the bundle a GPU machine runs (bench/gpu/prepare.ts) and, with --dry-run, runs
// it here exactly as there (bench/gpu/run.py: unpack, our step through the bundled Node and onnxruntime-node) on the
// CPU provider with tiny shapes, checking the bundle's size against the 64 MiB a GPU run may carry.
//   pnpm bench gpu -- --dry-run        (here)
//   pnpm bench gpu                     (builds the bundle and prints how to run it on a GPU machine)
// On a GPU machine (Python, PyTorch, PEFT, NVIDIA driver; no Node): python3 bench/gpu/run.py bench/out/gpu/neural-gpu.tar.xz
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BUNDLE_LIMIT_BYTES, prepareGpuBundle } from "./gpu/prepare.js";
import { machine, writeSection } from "./results.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const at = argv.indexOf("--vulkan-loader");
const prepared = await prepareGpuBundle({ force: argv.includes("--force"), ...(at >= 0 ? { vulkanLoader: argv[at + 1] } : {}) });
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
console.log(
  `bundle ${path.relative(process.cwd(), prepared.bundle)}: ${mib(prepared.bytes)} (limit ${mib(BUNDLE_LIMIT_BYTES)})${prepared.rebuilt ? "" : ", up to date"}; uncompressed parts: ${Object.entries(
    prepared.parts,
  )
    .map(([k, v]) => `${k} ${mib(v)}`)
    .join(", ")}`,
);
if (prepared.bytes > BUNDLE_LIMIT_BYTES) {
  console.error(`the bundle is over the ${mib(BUNDLE_LIMIT_BYTES)} a GPU run may carry`);
  process.exit(1);
}
if (!argv.includes("--dry-run")) {
  console.log(
    `on a GPU machine: python3 bench/gpu/run.py ${path.relative(process.cwd(), prepared.bundle)}   (carry ${path.relative(process.cwd(), prepared.bundle)}; results in $OUT/results.json and summary.md)`,
  );
  process.exit(0);
}
const out = mkdtempSync(path.join(tmpdir(), "neural-gpu-dry-"));
try {
  const run = spawnSync("python3", [path.join(here, "gpu", "run.py"), prepared.bundle, "--dry-run"], {
    stdio: "inherit",
    env: { ...process.env, OUT: out },
  });
  if (run.status !== 0) {
    console.error(`dry run failed (exit ${run.status})`);
    process.exit(1);
  }
  const results = JSON.parse(readFileSync(path.join(out, "results.json"), "utf8")) as {
    ours: Array<{ tokensPerSecond?: number; losses?: number[] }>;
    summary: string;
  };
  const ours = results.ours[0];
  if (!ours?.tokensPerSecond || !ours.losses?.every(Number.isFinite)) {
    console.error("dry run: our step gave no tokens/s or a non-finite loss");
    process.exit(1);
  }
  console.log(
    `dry run passed: the bundle runs our LoRA step (CPU provider, ${ours.tokensPerSecond.toFixed(0)} tokens/s on tiny shapes) and fits in ${mib(BUNDLE_LIMIT_BYTES)}`,
  );
  if (!argv.includes("--no-write")) {
    writeSection(
      "GPU check",
      [
        "**No GPU machine was available to this task (issue 20): there are no GPU figures yet.** What is ready: `bench/gpu/` builds a bundle that a GPU machine (one H100 or H200 with Python, PyTorch, PEFT and the NVIDIA driver; no Node, no network; ≤ 64 MiB carried, ≤ 10 minutes per command) runs with `python3 bench/gpu/run.py bench/out/gpu/neural-gpu.tar.xz` within a 470 s budget: our LoRA step (Qwen2.5-0.5B's shapes, r16 on every linear layer, batch 4 × 512, 2 warm-up + 6 timed steps) on onnxruntime-node's WebGPU provider (Dawn over Vulkan; float16 as the trainer picks, float32 if that fails), then PyTorch + PEFT in bfloat16 on the same shapes and tokens: tokens/s, GPU memory (nvidia-smi peak for ours; torch.cuda.max_memory_allocated for PyTorch), losses of both sides. CUDA: onnxruntime-node's CUDA provider library (~300 MB, plus CUDA 12 and cuDNN 9) cannot fit in 64 MiB, so run.py records it as skipped unless the library is already on the machine.",
        "",
        `Dry run here: \`pnpm bench gpu -- --dry-run\` (bench/gpu.bench.ts) on ${machine()}, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC: the same run.py unpacks the same bundle and runs our step through the bundled Node and onnxruntime-node on the CPU provider with tiny shapes (bench-small, 2 layers, batch 2 × 64); PyTorch is not installed here, so its side reports that. Bundle: ${mib(prepared.bytes)} of ${mib(BUNDLE_LIMIT_BYTES)} (xz; uncompressed: ${Object.entries(
          prepared.parts,
        )
          .map(([k, v]) => `${k} ${mib(v)}`)
          .join(
            ", ",
          )}). The Vulkan loader in it is Debian 12's libvulkan1 1.3.239, used only where the GPU machine has none (\`apt-get download libvulkan1\`, \`dpkg-deb -x\` it, then \`pnpm bench gpu -- --vulkan-loader .../usr/lib/x86_64-linux-gnu/libvulkan.so.1\` once: prepare keeps it in bench/out/gpu/ for later builds); where the container has the NVIDIA driver's libGLX_nvidia.so.0 but no ICD file, run.py writes one.`,
        "",
        "```",
        results.summary,
        "```",
      ].join("\n"),
    );
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
