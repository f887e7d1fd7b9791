// ggml's own quantizers as an oracle: a koffi binding to the shared libraries that node-llama-cpp 3.21.1 ships in
// @node-llama-cpp/linux-x64 (llama.cpp release v0.4.0 of node-llama-cpp's bundle). Nothing is built here.
//
// - libggml-base.so: ggml_quantize_chunk / ggml_quantize_init / ggml_row_size / ggml_get_type_traits (to_float).
// - libllama.v0.4.0.so: llama_model_quantize with llama_model_quantize_default_params (the whole-file quantizer).
//
// ggml aborts the process on a failed GGML_ASSERT, so every argument is checked here before a call.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import koffi, { type KoffiFunc, type TypeObject } from "koffi";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type KoffiFunction = KoffiFunc<(...args: any[]) => any>;

/** A problem with the ggml oracle: library not found, a bad argument, or a failed native call. */
export class GgmlError extends Error {
  override name = "GgmlError";
}

/** Information ggml itself reports for a ggml_type (from ggml_get_type_traits). */
export interface GgmlTypeInfo {
  type: number;
  name: string;
  blockSize: number;
  typeSize: number;
  isQuantized: boolean;
}

/** llama_model_quantize_params, field for field (llama.h of the bundled llama.cpp). */
export interface LlamaModelQuantizeParams {
  nthread: number;
  ftype: number;
  output_tensor_type: number;
  token_embedding_type: number;
  allow_requantize: boolean;
  quantize_output_tensor: boolean;
  only_copy: boolean;
  pure: boolean;
  keep_split: boolean;
  dry_run: boolean;
  imatrix: unknown;
  kv_overrides: unknown;
  tt_overrides: unknown;
  prune_layers: unknown;
  max_buf_size: number | bigint;
}

export interface GgmlModelQuantizeOptions {
  /** Quantize every tensor to the ftype's default type (llama-quantize --pure). */
  pure?: boolean;
  /** Keep output.weight in its input type (llama-quantize --leave-output-tensor). */
  leaveOutputTensor?: boolean;
}

/** The log lines llama.cpp wrote during the last ggmlModelQuantize call (it never prints to stderr from here). */
export interface GgmlModelQuantizeResult {
  log: string[];
}

interface Bindings {
  quantizeChunk: KoffiFunction;
  quantizeInit: KoffiFunction;
  rowSize: KoffiFunction;
  getTypeTraits: KoffiFunction;
  toFloatProto: TypeObject;
  traitsType: TypeObject;
}

interface LlamaBindings {
  modelQuantize: KoffiFunction;
  defaultParams: KoffiFunction;
  logSet: KoffiFunction;
  ggmlLogSet: KoffiFunction;
  logCallbackType: TypeObject;
  paramsType: TypeObject;
}

let bindings: Bindings | undefined;
let llamaBindings: LlamaBindings | undefined;
const typeInfoCache = new Map<number, GgmlTypeInfo>();

/** The folder holding libggml-base.so and libllama.*.so of node-llama-cpp's prebuilt linux-x64 binaries. */
export function ggmlLibraryDir(): string {
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new GgmlError(`the ggml oracle needs linux-x64 (this is ${process.platform}-${process.arch})`);
  }
  const require = createRequire(import.meta.url);
  let pkgDir: string;
  try {
    // @node-llama-cpp/linux-x64 is resolved the way node-llama-cpp itself resolves it.
    // Its only export is dist/index.js (getBinsDir() = ../bins); the package folder is two levels up.
    const fromNodeLlamaCpp = createRequire(require.resolve("node-llama-cpp"));
    pkgDir = dirname(dirname(fromNodeLlamaCpp.resolve("@node-llama-cpp/linux-x64")));
  } catch {
    try {
      pkgDir = dirname(dirname(require.resolve("@node-llama-cpp/linux-x64")));
    } catch (err) {
      throw new GgmlError(`@node-llama-cpp/linux-x64 is not installed: ${(err as Error).message}`);
    }
  }
  const dir = join(pkgDir, "bins", "linux-x64");
  if (!existsSync(join(dir, "libggml-base.so"))) throw new GgmlError(`libggml-base.so not found in ${dir}`);
  return dir;
}

function load(): Bindings {
  if (bindings) return bindings;
  const lib = koffi.load(join(ggmlLibraryDir(), "libggml-base.so"));
  const traitsType = koffi.struct("ggml_type_traits", {
    type_name: "const char *",
    blck_size: "int64_t",
    blck_size_interleave: "int64_t",
    type_size: "size_t",
    is_quantized: "bool",
    to_float: "void *",
    from_float_ref: "void *",
  });
  bindings = {
    quantizeChunk: lib.func(
      "size_t ggml_quantize_chunk(int type, const float *src, _Out_ void *dst, int64_t start, int64_t nrows, int64_t n_per_row, const float *imatrix)",
    ),
    quantizeInit: lib.func("void ggml_quantize_init(int type)"),
    rowSize: lib.func("size_t ggml_row_size(int type, int64_t ne)"),
    getTypeTraits: lib.func("const void *ggml_get_type_traits(int type)"),
    toFloatProto: koffi.proto("void ggml_to_float_t(const void *x, _Out_ float *y, int64_t k)"),
    traitsType,
  };
  return bindings;
}

/** ggml's own description of a type. Throws for ids ggml does not know or types that were removed. */
export function ggmlTypeInfo(type: number): GgmlTypeInfo {
  const cached = typeInfoCache.get(type);
  if (cached) return cached;
  if (!Number.isInteger(type) || type < 0 || type >= 43) throw new GgmlError(`unknown ggml type ${type}`);
  const b = load();
  const ptr = b.getTypeTraits(type);
  const t = koffi.decode(ptr, b.traitsType) as {
    type_name: string | null;
    blck_size: number | bigint;
    type_size: number | bigint;
    is_quantized: boolean;
  };
  const info: GgmlTypeInfo = {
    type,
    name: t.type_name ?? "",
    blockSize: Number(t.blck_size),
    typeSize: Number(t.type_size),
    isQuantized: t.is_quantized,
  };
  if (info.blockSize <= 0 || info.typeSize <= 0) throw new GgmlError(`ggml type ${type} (${info.name}) is not usable`);
  typeInfoCache.set(type, info);
  return info;
}

/** ggml_row_size: bytes of one row of nPerRow values. */
export function ggmlRowSize(type: number, nPerRow: number): number {
  const info = ggmlTypeInfo(type);
  checkRowLength(info, nPerRow);
  return Number(load().rowSize(type, nPerRow));
}

function checkRowLength(info: GgmlTypeInfo, nPerRow: number): void {
  if (!Number.isSafeInteger(nPerRow) || nPerRow <= 0) throw new GgmlError(`bad row length ${nPerRow}`);
  if (nPerRow % info.blockSize !== 0) {
    throw new GgmlError(`row length ${nPerRow} is not a multiple of ${info.name}'s block size ${info.blockSize}`);
  }
}

function prepareQuantize(type: number, data: Float32Array, nPerRow: number): { nrows: number; out: Uint8Array } {
  const info = ggmlTypeInfo(type);
  checkRowLength(info, nPerRow);
  if (data.length % nPerRow !== 0) throw new GgmlError(`${data.length} values are not whole rows of ${nPerRow}`);
  const b = load();
  const nrows = data.length / nPerRow;
  const bytes = nrows * Number(b.rowSize(type, nPerRow));
  b.quantizeInit(type);
  return { nrows, out: new Uint8Array(bytes) };
}

/**
 * ggml_quantize_chunk over whole rows, without an importance matrix (the same path llama-quantize takes without
 * --imatrix). Returns nrows × ggml_row_size(type, nPerRow) bytes.
 */
export function ggmlQuantize(type: number, data: Float32Array, nPerRow: number): Uint8Array {
  const { nrows, out } = prepareQuantize(type, data, nPerRow);
  if (nrows === 0) return out;
  const written = Number(load().quantizeChunk(type, data, out, 0, nrows, nPerRow, null));
  if (written !== out.length) throw new GgmlError(`ggml_quantize_chunk wrote ${written} bytes, expected ${out.length}`);
  return out;
}

/**
 * The same as ggmlQuantize, run on one of koffi's worker threads so several calls can run at once
 * (used by the benchmark to give ggml the same thread count as our worker pool). Do not touch `data` until it resolves.
 */
export function ggmlQuantizeAsync(type: number, data: Float32Array, nPerRow: number): Promise<Uint8Array> {
  const { nrows, out } = prepareQuantize(type, data, nPerRow);
  if (nrows === 0) return Promise.resolve(out);
  return new Promise((resolve, reject) => {
    load().quantizeChunk.async(type, data, out, 0, nrows, nPerRow, null, (err: unknown, written: number | bigint) => {
      if (err) reject(err instanceof Error ? err : new GgmlError(String(err)));
      else if (Number(written) !== out.length) reject(new GgmlError(`ggml_quantize_chunk wrote ${written} bytes`));
      else resolve(out);
    });
  });
}

/** ggml's dequantizer for a type (type_traits.to_float): `count` values from their blocks. */
export function ggmlDequantize(type: number, bytes: Uint8Array, count: number): Float32Array {
  const info = ggmlTypeInfo(type);
  if (!Number.isSafeInteger(count) || count < 0 || count % info.blockSize !== 0) {
    throw new GgmlError(`count ${count} is not a multiple of ${info.name}'s block size ${info.blockSize}`);
  }
  const need = (count / info.blockSize) * info.typeSize;
  if (bytes.length < need) throw new GgmlError(`${bytes.length} bytes hold fewer than ${count} ${info.name} values`);
  const out = new Float32Array(count);
  if (count === 0) return out;
  if (type === 0) {
    out.set(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + need)));
    return out;
  }
  const b = load();
  const t = koffi.decode(b.getTypeTraits(type), b.traitsType) as { to_float: unknown };
  if (!t.to_float) throw new GgmlError(`ggml has no to_float for ${info.name}`);
  koffi.call(t.to_float, b.toFloatProto, bytes, out, count);
  return out;
}

function loadLlama(): LlamaBindings {
  if (llamaBindings) return llamaBindings;
  load();
  const dir = ggmlLibraryDir();
  const ggml = koffi.load(join(dir, "libggml-base.so"));
  const llama = koffi.load(join(dir, "libllama.v0.4.0.so"));
  // struct llama_model_quantize_params (include/llama.h). Enums are int; pointers are opaque here (always NULL).
  const paramsType = koffi.struct("llama_model_quantize_params", {
    nthread: "int32_t",
    ftype: "int",
    output_tensor_type: "int",
    token_embedding_type: "int",
    allow_requantize: "bool",
    quantize_output_tensor: "bool",
    only_copy: "bool",
    pure: "bool",
    keep_split: "bool",
    dry_run: "bool",
    imatrix: "const void *",
    kv_overrides: "const void *",
    tt_overrides: "const void *",
    prune_layers: "const int32_t *",
    max_buf_size: "size_t",
  });
  const logCallbackType = koffi.proto("void ggml_log_callback(int level, const char *text, void *user_data)");
  llamaBindings = {
    paramsType,
    logCallbackType,
    defaultParams: llama.func("llama_model_quantize_default_params", paramsType, []),
    modelQuantize: llama.func("llama_model_quantize", "uint32_t", ["const char *", "const char *", koffi.pointer(paramsType)]),
    logSet: llama.func("llama_log_set", "void", [koffi.pointer(logCallbackType), "void *"]),
    ggmlLogSet: ggml.func("ggml_log_set", "void", [koffi.pointer(logCallbackType), "void *"]),
  };
  return llamaBindings;
}

/** llama_model_quantize_default_params() as llama.cpp returns it (also proves the struct layout). */
export function llamaModelQuantizeDefaultParams(): LlamaModelQuantizeParams {
  return loadLlama().defaultParams() as LlamaModelQuantizeParams;
}

/**
 * llama_model_quantize(input, output, params) — what the llama-quantize tool does — with the default params, the
 * given llama_ftype (e.g. 7 Q8_0, 15 Q4_K_M, 17 Q5_K_M) and thread count, and no importance matrix.
 * Synchronous. llama.cpp's log is captured (returned, and quoted in the error on failure), never printed.
 */
export function ggmlModelQuantize(
  inputGguf: string,
  outputGguf: string,
  ftype: number,
  nthread = 1,
  options: GgmlModelQuantizeOptions = {},
): GgmlModelQuantizeResult {
  if (!Number.isInteger(ftype) || ftype < 0) throw new GgmlError(`bad llama_ftype ${ftype}`);
  if (!Number.isInteger(nthread) || nthread < 1) throw new GgmlError(`bad thread count ${nthread}`);
  if (!existsSync(inputGguf)) throw new GgmlError(`input file not found: ${inputGguf}`);
  const b = loadLlama();
  const params = { ...(b.defaultParams() as LlamaModelQuantizeParams) };
  params.ftype = ftype;
  params.nthread = nthread;
  if (options.pure) params.pure = true;
  if (options.leaveOutputTensor) params.quantize_output_tensor = false;
  const log: string[] = [];
  let pending = "";
  const callback = koffi.register((_level: number, text: string | null) => {
    pending += text ?? "";
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    log.push(...lines);
  }, koffi.pointer(b.logCallbackType));
  let rc: number;
  try {
    b.logSet(callback, null);
    b.ggmlLogSet(callback, null);
    rc = b.modelQuantize(inputGguf, outputGguf, params) as number;
  } finally {
    b.logSet(null, null);
    b.ggmlLogSet(null, null);
    koffi.unregister(callback);
  }
  if (pending) log.push(pending);
  if (rc !== 0) {
    const tail = log
      .filter((l) => /error|failed|invalid|exception/i.test(l))
      .slice(-5)
      .join("\n");
    throw new GgmlError(`llama_model_quantize failed (rc ${rc}) for ${inputGguf}${tail ? `:\n${tail}` : ""}`);
  }
  return { log };
}

// A tiny GGUF writer/reader for oracle tests (model files for llama_model_quantize, reading back its output).
export { readMiniGguf, writeMiniGguf, type MiniGgufFile, type MiniGgufTensor, type MiniGgufValue } from "./ggml-gguf.js";
