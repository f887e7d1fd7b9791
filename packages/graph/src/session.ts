// Creating an ONNX Runtime session with a list of execution providers, falling back in order. ORT itself does not
// fall back (`executionProviders: ['cuda', 'cpu']` fails outright when CUDA cannot load), so each provider is tried
// on its own. Independent of the runtime package: pass onnxruntime-node's or onnxruntime-web's InferenceSession.

import { SessionError } from "./errors.js";

/** An InferenceSession class (its static `create`), e.g. `ort.InferenceSession` from onnxruntime-node or -web. */
export interface SessionFactory<S> {
  create(model: any, options?: any): Promise<S>;
}

/** An execution provider name ("cpu", "cuda", "coreml", "webgpu", "dml", ...) or its options object. */
export type ProviderConfig = string | { readonly name: string; readonly [option: string]: unknown };

export interface FallbackOptions {
  /** Providers to try in order (default ["cpu"]). */
  executionProviders?: readonly ProviderConfig[];
  /** Other ORT session options, passed through (intraOpNumThreads, graphOptimizationLevel, extra, ...). */
  [option: string]: unknown;
}

export interface CreatedSession<S> {
  session: S;
  /** The provider that runs the session. */
  provider: string;
  /** Providers tried before it and why each failed. */
  fallbacks: { provider: string; error: string }[];
  /** A sentence for the user when a fallback happened ("cuda unavailable (…); running on cpu"), else undefined. */
  message?: string;
}

const hints: Record<string, string> = {
  cuda: "the CUDA provider needs Linux x64, CUDA 12 with cuDNN, and onnxruntime-node's CUDA libraries (install with ONNXRUNTIME_NODE_INSTALL=cuda12)",
  tensorrt: "the TensorRT provider needs onnxruntime-node's GPU libraries (ONNXRUNTIME_NODE_INSTALL=cuda12) and TensorRT",
  coreml: "the CoreML provider exists only on macOS arm64",
  webgpu: "the WebGPU provider needs a GPU adapter (on Linux: Vulkan drivers)",
  dml: "the DirectML provider exists only on Windows",
};

const providerName = (p: ProviderConfig): string => (typeof p === "string" ? p : p.name);

/** Try each provider in turn; throw SessionError naming every failure when none works. */
export async function createSessionWithFallback<S>(
  factory: SessionFactory<S>,
  model: Uint8Array | string,
  options: FallbackOptions = {},
): Promise<CreatedSession<S>> {
  const { executionProviders = ["cpu"], ...rest } = options;
  if (executionProviders.length === 0) throw new SessionError("no execution provider given", []);
  const fallbacks: { provider: string; error: string }[] = [];
  for (const p of executionProviders) {
    const name = providerName(p);
    try {
      const session = await factory.create(model, { ...rest, executionProviders: [p] });
      const message = fallbacks.length
        ? `${fallbacks.map((f) => `${f.provider} unavailable (${f.error}${hints[f.provider] ? `; ${hints[f.provider]}` : ""})`).join("; ")}; running on ${name}`
        : undefined;
      return { session, provider: name, fallbacks, message };
    } catch (err) {
      fallbacks.push({ provider: name, error: err instanceof Error ? err.message.split("\n")[0]!.trim() : String(err) });
    }
  }
  const lines = fallbacks.map((f) => `  ${f.provider}: ${f.error}${hints[f.provider] ? ` (${hints[f.provider]})` : ""}`);
  throw new SessionError(
    `could not create an ONNX Runtime session with any of ${executionProviders.map(providerName).join(", ")}:\n${lines.join("\n")}`,
    fallbacks,
  );
}
