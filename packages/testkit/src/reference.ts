// A float64 forward pass of Hugging Face decoder weights, written from the transformers modeling code's definitions
// (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Phi3ForCausalLM, Qwen3ForCausalLM, Gemma3ForCausalLM and
// Gemma3ForConditionalGeneration's text model, SmolLM3ForCausalLM): token embeddings (Gemma: × √hidden), RMSNorm
// (Gemma: × (1 + w)), per-head q/k RMSNorm (Qwen3, Gemma 3), rotary embeddings with rotate_half (optionally partial,
// with llama3 frequency scaling; Gemma 3's sliding layers with their own base; none on SmolLM3's NoPE layers), causal
// grouped-query attention (inside the sliding window where a layer has one), SwiGLU or GeGLU MLP, Gemma's norms after
// attention and MLP, final norm, logits (lm_head or tied embeddings; optionally soft-capped). It is the oracle that
// llama.cpp's next-token distributions of our GGUF files are compared against.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { openCheckpoint } from "@neural/safetensors";
import type { Family, HfConfig } from "./models.js";

export interface ReferenceTensor {
  shape: number[];
  data: Float64Array;
}

export interface ReferenceModel {
  config: HfConfig;
  family: Family;
  weights: Map<string, ReferenceTensor>;
}

export function familyOf(config: HfConfig): Family {
  const arch = config.architectures?.[0] ?? "";
  if (arch === "Gemma3ForConditionalGeneration") return "gemma3-mm";
  if (arch.startsWith("Gemma3")) return "gemma3";
  if (arch.startsWith("Qwen3")) return "qwen3";
  if (arch.startsWith("SmolLM3")) return "smollm3";
  if (arch.startsWith("Qwen2")) return "qwen2";
  if (arch.startsWith("Phi3")) return "phi3";
  if (arch.startsWith("Mistral")) return "mistral";
  if (arch.startsWith("Llama"))
    return config.rope_scaling && (config.rope_scaling as { rope_type?: string }).rope_type === "llama3" ? "llama3" : "llama";
  throw new Error(`unsupported architecture ${arch}`);
}

/**
 * Loads a HF model directory into float64 (the stored bf16/f16/f32 values, widened exactly). With `adapterDir`, a PEFT
 * LoRA adapter is merged: W += scale · B·A with scale = lora_alpha / r (or / sqrt(r) with use_rslora).
 */
export async function loadReferenceModel(dir: string, options: { adapterDir?: string } = {}): Promise<ReferenceModel> {
  const config = JSON.parse(await readFile(join(dir, "config.json"), "utf8")) as HfConfig;
  const ckpt = await openCheckpoint(dir);
  const weights = new Map<string, ReferenceTensor>();
  try {
    for (const name of ckpt.names) {
      // Gemma3ForConditionalGeneration: the text model's weights under language_model.model; the vision tower unused.
      if (name.startsWith("vision_tower.") || name.startsWith("multi_modal_projector.")) continue;
      const f32 = await ckpt.readFloat32(name);
      weights.set(name.replace(/^language_model\.model\./, "model."), { shape: ckpt.info(name).shape, data: Float64Array.from(f32) });
    }
  } finally {
    await ckpt.close();
  }
  if (options.adapterDir) await mergeLora(weights, options.adapterDir);
  return { config, family: familyOf(config), weights };
}

async function mergeLora(weights: Map<string, ReferenceTensor>, adapterDir: string): Promise<void> {
  const cfg = JSON.parse(await readFile(join(adapterDir, "adapter_config.json"), "utf8")) as {
    r: number;
    lora_alpha: number;
    use_rslora?: boolean;
  };
  const ckpt = await openCheckpoint(join(adapterDir, "adapter_model.safetensors"));
  try {
    for (const name of ckpt.names) {
      if (!name.endsWith(".lora_A.weight")) continue;
      const base = name
        .replace(/^base_model\.model\./, "")
        .replace(/^model\.language_model\./, "model.")
        .replace(/\.lora_A\.weight$/, ".weight");
      const a = await ckpt.readFloat32(name);
      const b = await ckpt.readFloat32(name.replace(".lora_A.", ".lora_B."));
      const [r, inp] = ckpt.info(name).shape as [number, number];
      const out = ckpt.info(name.replace(".lora_A.", ".lora_B.")).shape[0]!;
      const w = weights.get(base);
      if (!w) throw new Error(`adapter targets ${base}, which the model lacks`);
      const scale = cfg.lora_alpha / (cfg.use_rslora ? Math.sqrt(r) : r);
      for (let o = 0; o < out; o++) {
        for (let k = 0; k < r; k++) {
          const bo = b[o * r + k]! * scale;
          if (bo === 0) continue;
          for (let i = 0; i < inp; i++) w.data[o * inp + i]! += bo * a[k * inp + i]!;
        }
      }
    }
  } finally {
    await ckpt.close();
  }
}

function get(model: ReferenceModel, name: string): Float64Array {
  const t = model.weights.get(name);
  if (!t) throw new Error(`reference model lacks ${name}`);
  return t.data;
}

/** y = W x (+ b) for a row-major W [out, in]; rows [rowStart, rowStart + out). */
function linear(w: Float64Array, x: Float64Array, out: number, inp: number, bias?: Float64Array, rowStart = 0): Float64Array {
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = 0;
    const base = (rowStart + o) * inp;
    for (let i = 0; i < inp; i++) s += w[base + i]! * x[i]!;
    y[o] = s + (bias ? bias[rowStart + o]! : 0);
  }
  return y;
}

/** RMSNorm of x[offset, offset + w.length) times (weightOffset + w) (Gemma's norms: 1 + w). */
function rmsNorm(x: Float64Array, w: Float64Array, eps: number, weightOffset = 0, offset = 0): Float64Array {
  const n = w.length;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += x[offset + i]! * x[offset + i]!;
  const inv = 1 / Math.sqrt(ss / n + eps);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = x[offset + i]! * inv * (weightOffset + w[i]!);
  return y;
}

/** transformers' gelu_pytorch_tanh. */
const geluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));

/** The inverse frequencies of the rotary embedding, with transformers' llama3 scaling when configured. */
export function ropeInvFreq(config: HfConfig, rotDim: number, base = config.rope_theta ?? 10000): Float64Array {
  const half = rotDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / base ** ((2 * i) / rotDim);
  const rs = config.rope_scaling as
    | {
        rope_type?: string;
        type?: string;
        factor?: number;
        low_freq_factor?: number;
        high_freq_factor?: number;
        original_max_position_embeddings?: number;
      }
    | null
    | undefined;
  const type = rs?.rope_type ?? rs?.type;
  if (type === "llama3") {
    const factor = rs!.factor ?? 8;
    const low = rs!.low_freq_factor ?? 1;
    const high = rs!.high_freq_factor ?? 4;
    const old = rs!.original_max_position_embeddings ?? 8192;
    const lowWavelen = old / low;
    const highWavelen = old / high;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i]!;
      if (wavelen < highWavelen) continue;
      if (wavelen > lowWavelen) inv[i] = inv[i]! / factor;
      else {
        const smooth = (old / wavelen - low) / (high - low);
        inv[i] = (1 - smooth) * (inv[i]! / factor) + smooth * inv[i]!;
      }
    }
  } else if (type === "linear") {
    for (let i = 0; i < half; i++) inv[i] = inv[i]! / (rs!.factor ?? 1);
  } else if (type && type !== "default") {
    throw new Error(`reference forward: rope scaling ${type} is not implemented`);
  }
  return inv;
}

/** rotate_half RoPE in place on one head vector (the first rotDim dims rotate, the rest pass through). */
function rope(v: Float64Array, offset: number, rotDim: number, pos: number, inv: Float64Array): void {
  const half = rotDim / 2;
  for (let i = 0; i < half; i++) {
    const a = pos * inv[i]!;
    const c = Math.cos(a);
    const s = Math.sin(a);
    const x1 = v[offset + i]!;
    const x2 = v[offset + i + half]!;
    v[offset + i] = x1 * c - x2 * s;
    v[offset + i + half] = x2 * c + x1 * s;
  }
}

/** Logits after every position of `tokens` (float64). */
export function referenceLogits(model: ReferenceModel, tokens: readonly number[]): Float64Array[] {
  const c = (model.config.text_config as HfConfig | undefined) ?? model.config;
  const gemma = model.family === "gemma3" || model.family === "gemma3-mm";
  const H = c.hidden_size;
  const nh = c.num_attention_heads;
  const nkv = c.num_key_value_heads;
  const hd = c.head_dim ?? H / nh;
  const qDim = nh * hd;
  const kvDim = nkv * hd;
  const ff = c.intermediate_size;
  const eps = c.rms_norm_eps;
  const normOffset = gemma ? 1 : 0;
  const rotDim = Math.floor((hd * (c.partial_rotary_factor ?? 1)) / 2) * 2;
  const inv = ropeInvFreq(c, rotDim);
  // Gemma 3: sliding layers rotate with rope_local_base_freq, unscaled; full layers with rope_theta (and its scaling).
  const invLocal = gemma ? ropeInvFreq({ ...c, rope_scaling: null }, rotDim, c.rope_local_base_freq as number) : inv;
  const layerTypes = c.layer_types as string[] | undefined;
  const isSliding = (l: number) =>
    gemma
      ? (layerTypes ? layerTypes[l] === "sliding_attention" : (l + 1) % ((c.sliding_window_pattern as number | undefined) ?? 6) !== 0) &&
        c.sliding_window != null
      : c.sliding_window != null && (model.family === "mistral" || model.family === "phi3" || c.use_sliding_window === true);
  const noRope = c.no_rope_layers as number[] | undefined;
  const usesRope = (l: number) => (noRope ? noRope[l] === 1 : model.family !== "smollm3" || (l + 1) % 4 !== 0);
  const scale = gemma ? (c.query_pre_attn_scalar as number) ** -0.5 : 1 / Math.sqrt(hd);
  const qkNorm = gemma || model.family === "qwen3";
  const act = gemma ? geluTanh : (g: number) => g / (1 + Math.exp(-g));
  const V = c.vocab_size;
  const emb = get(model, "model.embed_tokens.weight");
  const T = tokens.length;
  let xs: Float64Array[] = tokens.map((t) => {
    if (t < 0 || t >= V) throw new Error(`token ${t} outside the vocabulary`);
    const e = emb.slice(t * H, (t + 1) * H);
    if (gemma) for (let i = 0; i < H; i++) e[i]! *= Math.sqrt(H);
    return e;
  });
  const fused = model.family === "phi3";
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    const wIn = get(model, `${p}.input_layernorm.weight`);
    const layerInv = isSliding(l) ? invLocal : inv;
    const window = isSliding(l) ? (c.sliding_window as number) : Infinity;
    const qs: Float64Array[] = [];
    const ks: Float64Array[] = [];
    const vs: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      const h = rmsNorm(xs[t]!, wIn, eps, normOffset);
      let q: Float64Array, k: Float64Array, v: Float64Array;
      if (fused) {
        const w = get(model, `${p}.self_attn.qkv_proj.weight`);
        q = linear(w, h, qDim, H, undefined, 0);
        k = linear(w, h, kvDim, H, undefined, qDim);
        v = linear(w, h, kvDim, H, undefined, qDim + kvDim);
      } else {
        const bias = (n: string) => model.weights.get(`${p}.self_attn.${n}.bias`)?.data;
        q = linear(get(model, `${p}.self_attn.q_proj.weight`), h, qDim, H, bias("q_proj"));
        k = linear(get(model, `${p}.self_attn.k_proj.weight`), h, kvDim, H, bias("k_proj"));
        v = linear(get(model, `${p}.self_attn.v_proj.weight`), h, kvDim, H, bias("v_proj"));
      }
      if (qkNorm) {
        const qn = get(model, `${p}.self_attn.q_norm.weight`);
        const kn = get(model, `${p}.self_attn.k_norm.weight`);
        for (let i = 0; i < nh; i++) q.set(rmsNorm(q, qn, eps, normOffset, i * hd), i * hd);
        for (let i = 0; i < nkv; i++) k.set(rmsNorm(k, kn, eps, normOffset, i * hd), i * hd);
      }
      if (usesRope(l)) {
        for (let i = 0; i < nh; i++) rope(q, i * hd, rotDim, t, layerInv);
        for (let i = 0; i < nkv; i++) rope(k, i * hd, rotDim, t, layerInv);
      }
      qs.push(q);
      ks.push(k);
      vs.push(v);
    }
    const wo = get(model, `${p}.self_attn.o_proj.weight`);
    const oBias = model.weights.get(`${p}.self_attn.o_proj.bias`)?.data;
    const wPost = get(model, `${p}.post_attention_layernorm.weight`);
    const next: Float64Array[] = [];
    const group = nh / nkv;
    for (let t = 0; t < T; t++) {
      const attn = new Float64Array(qDim);
      const first = Math.max(0, t - window + 1);
      for (let head = 0; head < nh; head++) {
        const kvh = Math.floor(head / group);
        const scores = new Float64Array(t + 1);
        let max = -Infinity;
        for (let s = first; s <= t; s++) {
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += qs[t]![head * hd + i]! * ks[s]![kvh * hd + i]!;
          scores[s] = dot * scale;
          if (scores[s]! > max) max = scores[s]!;
        }
        let sum = 0;
        for (let s = first; s <= t; s++) sum += scores[s] = Math.exp(scores[s]! - max);
        for (let s = first; s <= t; s++) {
          const w = scores[s]! / sum;
          for (let i = 0; i < hd; i++) attn[head * hd + i]! += w * vs[s]![kvh * hd + i]!;
        }
      }
      let o = linear(wo, attn, H, qDim, oBias);
      // Gemma 3: post_attention_layernorm on the attention's output, pre_feedforward_layernorm before the MLP.
      if (gemma) o = rmsNorm(o, wPost, eps, normOffset);
      const x = new Float64Array(H);
      for (let i = 0; i < H; i++) x[i] = xs[t]![i]! + o[i]!;
      const h2 = rmsNorm(x, gemma ? get(model, `${p}.pre_feedforward_layernorm.weight`) : wPost, eps, normOffset);
      let gate: Float64Array, up: Float64Array;
      if (fused) {
        const w = get(model, `${p}.mlp.gate_up_proj.weight`);
        gate = linear(w, h2, ff, H, undefined, 0);
        up = linear(w, h2, ff, H, undefined, ff);
      } else {
        gate = linear(get(model, `${p}.mlp.gate_proj.weight`), h2, ff, H);
        up = linear(get(model, `${p}.mlp.up_proj.weight`), h2, ff, H);
      }
      const a = new Float64Array(ff);
      for (let i = 0; i < ff; i++) a[i] = act(gate[i]!) * up[i]!;
      let down = linear(get(model, `${p}.mlp.down_proj.weight`), a, H, ff);
      if (gemma) down = rmsNorm(down, get(model, `${p}.post_feedforward_layernorm.weight`), eps, normOffset);
      for (let i = 0; i < H; i++) x[i]! += down[i]!;
      next.push(x);
    }
    xs = next;
  }
  const wNorm = get(model, "model.norm.weight");
  const head = model.weights.get("lm_head.weight")?.data ?? emb;
  const cap = c.final_logit_softcapping as number | null | undefined;
  return xs.map((x) => {
    const logits = linear(head, rmsNorm(x, wNorm, eps, normOffset), V, H);
    if (cap) for (let i = 0; i < V; i++) logits[i] = cap * Math.tanh(logits[i]! / cap);
    return logits;
  });
}

export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i]! - max);
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** KL(p ‖ q) in nats; q is floored at 1e-30 so a zero where p has mass shows up as a large number, not Infinity. */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let kl = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]!;
    if (pi > 0) kl += pi * Math.log(pi / Math.max(q[i]!, 1e-30));
  }
  return kl;
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/** Greedy continuation of `prompt` for `n` tokens under the reference model. */
export function referenceGreedy(model: ReferenceModel, prompt: readonly number[], n: number): number[] {
  const tokens = [...prompt];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const logits = referenceLogits(model, tokens);
    const next = argmax(logits[logits.length - 1]!);
    out.push(next);
    tokens.push(next);
  }
  return out;
}
