// The training worker: onnxruntime-web (WebGPU when the browser has an adapter, else multi-threaded WASM when the page
// is cross-origin isolated, else one thread) running @neural/web-trainer. The page stays responsive; every step's loss
// and tokens/s, each evaluation's sample answers and the finished files come back as messages.
import { formatIssue } from "@neural/dataset";
import { hfFolder, readDataset, trainInMemory, validateDataset, type WebTrainEvent } from "@neural/web-trainer";
import jsepGlue from "onnxruntime-web/ort-wasm-simd-threaded.jsep.mjs?url";
import jsepBinary from "onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url";
import wasmGlue from "onnxruntime-web/ort-wasm-simd-threaded.mjs?url";
import wasmBinary from "onnxruntime-web/ort-wasm-simd-threaded.wasm?url";
import type { Backend, FromWorker, RuntimeInfo, ToWorker } from "./protocol.js";

/** This worker's global scope (the DOM lib types `self` as a window). */
const scope = globalThis as unknown as {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent) => void) | null;
};

type Ort = typeof import("onnxruntime-web");

const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;

/**
 * onnxruntime-web, loaded once: its WebGPU build (JSEP) when WebGPU may be used, else its plain WASM build, which
 * runs CPU kernels faster (no asynchronous-kernel instrumentation). The WASM glue and binary are files of their own,
 * not bundled into this worker, so ONNX Runtime's threads start from the glue alone.
 */
let loaded: Promise<Ort> | undefined;
function loadOrt(webgpu: boolean, threads: number | undefined): Promise<Ort> {
  loaded ??= (async () => {
    const ort = webgpu ? await import("onnxruntime-web") : ((await import("onnxruntime-web/wasm")) as Ort);
    const [glue, binary] = webgpu ? [jsepGlue, jsepBinary] : [wasmGlue, wasmBinary];
    ort.env.wasm.wasmPaths = { mjs: new URL(glue, import.meta.url).href, wasm: new URL(binary, import.meta.url).href };
    // Half the cores by default: the page and the browser need the rest (on 2 cores one thread trains fastest).
    ort.env.wasm.numThreads = isolated ? Math.max(1, threads ?? Math.min(8, Math.floor(cores / 2))) : 1;
    return ort;
  })();
  return loaded;
}

const post = (message: FromWorker, transfer: Transferable[] = []) => scope.postMessage(message, transfer);

async function hasWebGpu(): Promise<boolean> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) != null;
  } catch {
    return false;
  }
}

async function providers(backend: Backend): Promise<string[]> {
  if (backend === "wasm") return ["wasm"];
  if (backend === "webgpu") return ["webgpu", "wasm"];
  return (await hasWebGpu()) ? ["webgpu", "wasm"] : ["wasm"];
}

let stop: AbortController | undefined;

scope.onmessage = (e: MessageEvent) => {
  const message = e.data as ToWorker;
  if (message.type === "stop") {
    stop?.abort();
    return;
  }
  handle(message).catch((error: unknown) => {
    const err = error instanceof Error ? error : new Error(String(error));
    post({ type: "error", name: err.name, message: err.message });
  });
};

async function runtimeInfo(ort: Ort, list: string[]): Promise<RuntimeInfo> {
  return { providers: list, threads: ort.env.wasm.numThreads ?? 1, crossOriginIsolated: isolated, webgpu: await hasWebGpu() };
}

async function handle(message: Exclude<ToWorker, { type: "stop" }>): Promise<void> {
  const dataset = { name: message.dataset.name, bytes: new Uint8Array(message.dataset.bytes) };
  if (message.type === "validate") {
    const events = await readDataset(dataset);
    const report = await validateDataset(events, dataset.name, { maxShown: 20 });
    // The lines `neural validate` prints for the same file (its header, errors and totals).
    const lines = [`${report.file}: ${report.records} records, ${report.valid} valid, ${report.invalid} invalid`];
    if (report.errors.total) {
      lines.push(`errors (${report.errors.total}):`);
      for (const issue of report.errors.shown) lines.push(`  ${formatIssue(issue)}`);
      if (report.errors.omitted) lines.push(`  ... and ${report.errors.omitted} more`);
    }
    post({ type: "report", report, lines });
    return;
  }
  const list = await providers(message.backend);
  const ort = await loadOrt(list[0] === "webgpu", message.threads);
  post({ type: "runtime", info: await runtimeInfo(ort, list) });
  stop = new AbortController();
  const base = message.base ? await hfFolder(message.base.name, new Map(message.base.files)) : undefined;
  const onEvent = (event: WebTrainEvent) => post({ type: "event", event });
  const attempt = (executionProviders: string[]) =>
    trainInMemory({
      ort,
      session: { executionProviders, graphOptimizationLevel: "all" },
      dataset,
      settings: message.settings,
      ...(base ? { base } : {}),
      export: { outType: message.outType },
      onEvent,
      signal: stop!.signal,
    });
  let result;
  try {
    result = await attempt(list);
  } catch (error) {
    // A graph the WebGPU provider accepts but cannot run: train again on WASM.
    if (list[0] !== "webgpu" || stop.signal.aborted) throw error;
    onEvent({ type: "warning", message: `WebGPU failed (${(error as Error).message.split("\n")[0]}); training on WASM instead` });
    result = await attempt(["wasm"]);
  }
  const files = result.files.map((f) => ({
    name: f.name,
    type: f.type,
    bytes: f.bytes.buffer.slice(f.bytes.byteOffset, f.bytes.byteOffset + f.bytes.byteLength) as ArrayBuffer,
  }));
  post(
    {
      type: "done",
      provider: result.provider,
      steps: result.steps,
      stopped: result.stopped,
      losses: result.losses,
      tokensPerSecond: result.tokensPerSecond,
      samples: result.lastEval?.samples ?? [],
      ...(result.lastEval?.exactMatch !== undefined ? { exactMatch: result.lastEval.exactMatch } : {}),
      files,
    },
    files.map((f) => f.bytes),
  );
}
