// Test helpers (not exported): run a GGUF in llama.cpp (child process) and compare it with the float64 forward pass.
import { LlamaModelProcess, type LoadOptions } from "@neural/llama";
import {
  argmax,
  familyOf,
  klDivergence,
  referenceGreedy,
  referenceLogits,
  softmax,
  textConfigOf,
  type HfConfig,
  type ReferenceModel,
  type ReferenceTensor,
} from "@neural/testkit";
import { openGguf } from "./index.js";

export interface OracleReport {
  /** Max over positions of KL(reference ‖ llama.cpp). */
  maxKl: number;
  /** KL at each position. */
  kls: number[];
  /** Positions where llama.cpp's argmax differs from the reference's. */
  argmaxMismatches: number[];
  greedyLlama: number[];
  greedyReference: number[];
}

/** Loads `gguf` in llama.cpp, evaluates `tokens`, and compares distributions and a greedy continuation with `ref`. */
export async function compareWithReference(
  gguf: string,
  ref: ReferenceModel,
  tokens: readonly number[],
  options: { greedyTokens?: number; load?: LoadOptions; model?: LlamaModelProcess } = {},
): Promise<OracleReport> {
  const own = !options.model;
  const model = options.model ?? (await LlamaModelProcess.load(gguf, options.load));
  try {
    const dist = await model.distributions(tokens);
    const logits = referenceLogits(ref, tokens);
    const kls: number[] = [];
    const argmaxMismatches: number[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const p = softmax(logits[i]!);
      kls.push(klDivergence(p, dist.probabilities[i]!));
      if (argmax(p) !== argmax(dist.probabilities[i]!)) argmaxMismatches.push(i);
    }
    const n = options.greedyTokens ?? 8;
    const greedyLlama = n > 0 ? (await model.generate(tokens, { maxTokens: n })).tokens : [];
    const greedyReference = n > 0 ? referenceGreedy(ref, tokens, Math.max(greedyLlama.length, 1)) : [];
    return { maxKl: Math.max(...kls), kls, argmaxMismatches, greedyLlama, greedyReference };
  } finally {
    if (own) await model.close();
  }
}

/**
 * A float64 reference model whose weights are the (dequantized) tensors of a GGUF file, mapped back to HF names and
 * layout (q/k rows un-permuted for arch llama). The forward pass is then the same float64 code as for HF weights.
 */
export async function referenceFromGguf(path: string, config: HfConfig): Promise<ReferenceModel> {
  const r = await openGguf(path);
  const arch = String(r.get("general.architecture"));
  const text = textConfigOf(config);
  const heads = text.num_attention_heads;
  const kvHeads = text.num_key_value_heads;
  const hd = text.head_dim ?? text.hidden_size / heads;
  const weights = new Map<string, ReferenceTensor>();
  try {
    for (const t of r.tensors) {
      if (t.name === "rope_freqs.weight") continue;
      let values = await r.readTensorF32(t.name);
      const hfName = hfNameOf(t.name, arch);
      const shape = t.ne.length === 2 ? [t.ne[1]!, t.ne[0]!] : [t.ne[0]!];
      const perm =
        arch === "llama" || arch === "smollm3" ? (t.name.includes(".attn_q.") ? heads : t.name.includes(".attn_k.") ? kvHeads : 0) : 0;
      if (perm) values = unpermuteRows(values, shape[0]!, shape.length === 2 ? shape[1]! : 1, hd);
      // Gemma's norms are written as 1 + w; the HF weights are w.
      if (arch === "gemma3" && t.name.endsWith("norm.weight")) values = values.map((v) => v - 1);
      weights.set(hfName, { shape, data: Float64Array.from(values) });
    }
  } finally {
    await r.close();
  }
  return { config, family: familyOf(config), weights };
}

function hfNameOf(name: string, arch: string): string {
  if (name === "token_embd.weight") return "model.embed_tokens.weight";
  if (name === "output_norm.weight") return "model.norm.weight";
  if (name === "output.weight") return "lm_head.weight";
  const m = /^blk\.(\d+)\.(\w+)\.(weight|bias)$/.exec(name);
  if (!m) throw new Error(`no HF name for ${name}`);
  const table: Record<string, string> = {
    attn_norm: "input_layernorm",
    attn_q: "self_attn.q_proj",
    attn_k: "self_attn.k_proj",
    attn_v: "self_attn.v_proj",
    attn_output: "self_attn.o_proj",
    attn_qkv: "self_attn.qkv_proj",
    ffn_norm: arch === "gemma3" ? "pre_feedforward_layernorm" : "post_attention_layernorm",
    ffn_gate: "mlp.gate_proj",
    ffn_up: arch === "phi3" ? "mlp.gate_up_proj" : "mlp.up_proj",
    ffn_down: "mlp.down_proj",
    attn_q_norm: "self_attn.q_norm",
    attn_k_norm: "self_attn.k_norm",
    post_attention_norm: "post_attention_layernorm",
    post_ffw_norm: "post_feedforward_layernorm",
  };
  return `model.layers.${m[1]}.${table[m[2]!]}.${m[3]}`;
}

/** Inverse of the converter's permutation: in[h*hd + j*hd/2 + i] = out[h*hd + 2i + j]. */
function unpermuteRows(data: Float32Array, rows: number, cols: number, hd: number): Float32Array {
  const out = new Float32Array(data.length);
  const half = hd / 2;
  for (let h = 0; h < rows / hd; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const src = (h * hd + 2 * i + j) * cols;
        const dst = (h * hd + j * half + i) * cols;
        out.set(data.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}
