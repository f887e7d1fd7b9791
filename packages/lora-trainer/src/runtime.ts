// Choosing the execution provider. `auto` tries the GPU provider of the platform first (CUDA on Linux x64, CoreML on
// macOS arm64), then the CPU; the caller is told which runs and why the others did not. CUDA is skipped without a
// noisy failed attempt when onnxruntime-node's CUDA libraries were never installed.
import type { FallbackOptions } from "@neural/graph/node";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Device } from "./train-config.js";

export interface ProviderChoice {
  providers: string[];
  /** Providers `auto` did not try, and why. */
  skipped: { provider: string; reason: string }[];
}

/** Where onnxruntime-node keeps its native libraries for this platform. */
function ortBinDir(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve("onnxruntime-node/package.json");
    return path.join(path.dirname(pkg), "bin", "napi-v6", process.platform, process.arch);
  } catch {
    return undefined;
  }
}

export function cudaLibrariesInstalled(): boolean {
  const dir = ortBinDir();
  return dir !== undefined && existsSync(path.join(dir, "libonnxruntime_providers_cuda.so"));
}

/** Whether this machine has an NVIDIA GPU with its driver loaded (Linux). */
export function nvidiaGpuPresent(): boolean {
  return existsSync("/proc/driver/nvidia/version");
}

/** `nvidiaGpu`: whether CUDA's absence is worth a word (on a machine without an NVIDIA GPU, the CPU is no surprise). */
export function chooseProviders(
  device: Device,
  platform: string = process.platform,
  arch: string = process.arch,
  nvidiaGpu: boolean = nvidiaGpuPresent(),
): ProviderChoice {
  if (device !== "auto") return { providers: [device], skipped: [] };
  if (platform === "linux" && arch === "x64") {
    if (cudaLibrariesInstalled()) return { providers: ["cuda", "cpu"], skipped: [] };
    if (!nvidiaGpu) return { providers: ["cpu"], skipped: [] };
    return {
      providers: ["cpu"],
      skipped: [
        {
          provider: "cuda",
          reason:
            "onnxruntime-node's CUDA libraries are not installed; on a machine with an NVIDIA GPU, CUDA 12 and cuDNN 9, reinstall with ONNXRUNTIME_NODE_INSTALL=cuda12 (see docs/training.md)",
        },
      ],
    };
  }
  if (platform === "darwin" && arch === "arm64") return { providers: ["coreml", "cpu"], skipped: [] };
  return { providers: ["cpu"], skipped: [] };
}

/**
 * Options of every training session (their measured effects: bench/RESULTS.md, "Training speed and memory"):
 * - no memory pattern: ORT's pre-planned activation block for a whole training graph is far larger than what is
 *   live at once;
 * - no CPU arena: activations go back to the system after each run, so the step's and the evaluation's peaks do
 *   not add up;
 * - no prepacking: the frozen weights stay in the memory-mapped external data file, shared by every session of
 *   the run (step, eval, decode) instead of one packed private copy per consumer per session; Gemm with transB
 *   runs as fast on unpacked weights here.
 * - QLoRA's fused 4-bit kernel computes in float32 (accuracy level 1).
 */
export function sessionOptions(providers: readonly string[], threads: number | undefined): FallbackOptions {
  return {
    executionProviders: providers,
    ...(threads !== undefined ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
    graphOptimizationLevel: "all",
    enableMemPattern: false,
    enableCpuMemArena: false,
    // QLoRA: the fused 4-bit MatMulNBits computes in float32 (ORT's default, level 4, rounds activations to int8).
    extra: { session: { disable_prepacking: "1", qdq_matmulnbits_accuracy_level: "1" } },
  };
}

const M_TRIM_THRESHOLD = -1;
const M_TOP_PAD = -2;
const M_MMAP_THRESHOLD = -3;
const MIB = 1 << 20;

/** mallopt(param, value) pairs: the two ways a run's freed activation blocks are treated. */
const MALLOC_SETTINGS = {
  /** every block of 1 MiB or more from mmap; trimming and top pad at glibc's defaults (128 KiB) */
  returnFreed: [
    [M_MMAP_THRESHOLD, MIB],
    [M_TRIM_THRESHOLD, 128 * 1024],
    [M_TOP_PAD, 128 * 1024],
  ],
  /** blocks up to 32 MiB from a heap that is never trimmed and grows 256 MiB at a time */
  keepFreed: [
    [M_MMAP_THRESHOLD, 32 * MIB],
    [M_TRIM_THRESHOLD, 2 ** 31 - 1],
    [M_TOP_PAD, 256 * MIB],
  ],
} as const;

/**
 * glibc's mallopt (koffi) with these settings, process-wide. Left alone when the user set a MALLOC_*_ variable;
 * false where it did not apply (another system or C library).
 */
function setMalloc(settings: readonly (readonly [number, number])[]): boolean {
  if (process.platform !== "linux" || Object.keys(process.env).some((k) => k.startsWith("MALLOC_") && k.endsWith("_"))) return false;
  try {
    const koffi = createRequire(import.meta.url)("koffi") as typeof import("koffi");
    const mallopt = koffi.load("libc.so.6").func("int mallopt(int param, int value)") as (param: number, value: number) => number;
    return settings.every(([param, value]) => mallopt(param, value) === 1);
  } catch {
    return false;
  }
}

/**
 * Linux with glibc: malloc serves every block of 1 MiB or more from mmap, so the activations a step frees go back
 * to the system when freed. glibc otherwise raises that threshold (up to 32 MiB) after the first large block is
 * freed and keeps later ones in its heap, which adds ~100 MiB to full fine-tuning's peak (bench/RESULTS.md). The
 * price: those blocks' pages are faulted in again at every run, from within noise to 2.4x the step's time
 * depending on the machine (page faults are dear in some virtual machines).
 */
export const mmapLargeBlocks = (): boolean => setMalloc(MALLOC_SETTINGS.returnFreed);

/**
 * Linux with glibc: what a step frees stays in malloc's heap and serves the next step without new page faults: a
 * bench-small LoRA step with checkpointing took 1.3–1.7 s instead of 2.2 s (1 MiB threshold) or 2.0 s (glibc's
 * defaults) on a machine where faults are dear, for 10–80 MiB more at the peak there and 550 MiB more on
 * Qwen2.5-0.5B's shapes (bench/RESULTS.md). The heap keeps the run's peak until the process ends.
 */
export const keepFreedBlocks = (): boolean => setMalloc(MALLOC_SETTINGS.keepFreed);

/**
 * The allocator a training run gets (train() and the benchmarks): full fine-tuning with gradient checkpointing trades
 * time for memory (mmapLargeBlocks), every other run keeps freed blocks for the next step (keepFreedBlocks).
 */
export function setMallocForRun(run: { fullFineTuning: boolean; gradientCheckpointing: boolean }): boolean {
  return run.fullFineTuning && run.gradientCheckpointing ? mmapLargeBlocks() : keepFreedBlocks();
}

/**
 * A full garbage collection, for GraphRunner's collectGarbage: V8's `gc`, exposed at run time (the flag applies to
 * contexts created after it is set); undefined where that fails.
 */
export function nodeGarbageCollector(): (() => void) | undefined {
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as unknown;
    return typeof gc === "function" ? () => gc() : undefined;
  } catch {
    return undefined;
  }
}
