// The decoder-only transformer of the Llama family, as @neural/graph ops, top to bottom in one file:
//   embeddings → N × [RMSNorm → grouped-query causal attention with rotary positions → residual,
//                     RMSNorm → gated MLP → residual] → RMSNorm → logits.
// The families differ only in details read from config.json (@neural/hf-config): Phi-3 fuses q/k/v and gate/up
// into one projection each, Qwen2 has q/k/v biases (any `.bias` tensor present is used), Qwen3 and Gemma 3 normalize
// each head's q and k, Gemma 3 scales the embeddings, norms with (1 + w), adds norms after attention and the MLP,
// gates with GELU, alternates sliding-window and full layers with their own rope bases and may soft-cap the logits,
// SmolLM3 leaves some layers without rotary positions; tied embeddings reuse embed_tokens as the output layer, and
// the rotary frequencies may be scaled (linear, llama3, longrope).
// The same code builds the training forward (with LoRA, packing and recomputation) and the KV-cache decode step.

import {
  type Graph,
  GraphError,
  type Tensor,
  add,
  and,
  arange,
  cast,
  concat,
  cos,
  crossEntropy,
  equal,
  gather,
  lessEqual,
  linear as gemmLinear,
  less,
  matmul,
  mul,
  or,
  reshape,
  rmsNorm,
  rotary,
  scatterElements,
  silu,
  sin,
  slice,
  softmax,
  split,
  squeeze,
  sub,
  tanh,
  transpose,
  transposeLast2,
  unsqueeze,
  where,
  expand,
} from "@neural/graph";
import { type ModelConfig, isSlidingLayer, ropeFrequencies, usesRope } from "./config.js";
import type { Weights } from "./weights.js";

/** LoRA on some linear layers: y = x·Wᵀ + (alpha / r)·(x·Aᵀ)·Bᵀ, with A [r, in] and B [out, r] as in PEFT. */
export interface LoraOptions {
  /** Module names: q_proj k_proj v_proj o_proj gate_proj up_proj down_proj; Phi-3: qkv_proj o_proj gate_up_proj down_proj. */
  targets: readonly string[];
  rank: number;
  alpha: number;
  /** rsLoRA: scale alpha / sqrt(r) instead of alpha / r. */
  rsLora?: boolean;
  /** The A and B tensors of a module ("model.layers.0.self_attn.q_proj"). */
  weights(module: string, shape: { in: number; out: number; rank: number }): { a: Tensor; b: Tensor };
  /** Applied to the LoRA branch's input (e.g. dropout), if given. */
  dropout?(x: Tensor, module: string): Tensor;
}

export interface ForwardInputs {
  /** int64 [batch, seq]. */
  inputIds: Tensor;
  /** int64 [batch, seq]: the rotary position of each token (restarting at 0 for each packed example). */
  positionIds: Tensor;
  /** int64 [batch, seq]: packed examples attend only within their own segment. Omit for one example per row. */
  segmentIds?: Tensor;
  /**
   * int64 [batch, seq], with segmentIds: a segment as a tree of sequences that share a prefix (a prompt and its
   * answers). 0 marks the shared tokens, which every token of the segment may see; tokens of branch k > 0 see
   * them and their own branch only.
   */
  branchIds?: Tensor;
}

/** A KV cache of `slots` positions per layer, [batch, kv heads, slots, head dim]; token at position p goes to slot p. */
export interface KvCache {
  keys: readonly Tensor[];
  values: readonly Tensor[];
}

export interface ForwardOptions {
  lora?: LoraOptions;
  /** Recompute each decoder layer in the backward instead of keeping its activations (gradient checkpointing). */
  recompute?: boolean;
  /**
   * Replace how a linear layer's base weight is applied (e.g. 4-bit weights); `dense(x)` is the default x·Wᵀ (+ b),
   * `base` its weight [out, in] and bias (a replacement that does not use `base.weight` leaves it out of the file).
   */
  linear?(x: Tensor, module: string, dense: (x: Tensor) => Tensor, base: { weight: Tensor; bias?: Tensor }): Tensor;
  /** Which positions get logits: all (default), the last one of each row, or none (only `hidden`). */
  logits?: "all" | "last" | "none";
  /**
   * With logits "all": only at these positions, int64 [n] indices into the flattened [batch · seq] positions; the
   * hidden states are gathered before the output projection, so positions that learn nothing cost nothing there.
   */
  logitsAt?: Tensor;
  /** Decode with a KV cache: the new keys/values are written at their positions and attention reads the cache. */
  cache?: KvCache;
}

export interface ForwardResult {
  /** [batch, seq (or 1 with logits: "last"), vocab], or [n, vocab] with logitsAt. */
  logits?: Tensor;
  /** The final hidden states after the last norm, [batch, seq, hidden]. */
  hidden: Tensor;
  /** With a cache: the updated cache per layer. */
  presentKeys?: Tensor[];
  presentValues?: Tensor[];
}

/** The linear modules of each family, per layer (LoRA targets must come from this list). */
export function linearModules(config: ModelConfig): string[] {
  return config.fused
    ? ["self_attn.qkv_proj", "self_attn.o_proj", "mlp.gate_up_proj", "mlp.down_proj"]
    : ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"];
}

/** Build the forward pass of a causal LM into `g`. */
export function buildForward(
  g: Graph,
  config: ModelConfig,
  weights: Weights,
  inputs: ForwardInputs,
  options: ForwardOptions = {},
): ForwardResult {
  const { numHeads: nh, numKvHeads: nkv, headDim: hd, intermediateSize: ff, rmsNormEps: eps } = config;
  const [B, S] = inputs.inputIds.shape as [number, number];
  const need = (name: string): Tensor => {
    const t = weights.get(name);
    if (!t) throw new GraphError(`${config.family} model: missing tensor ${name}`);
    return t;
  };
  const embed = need("model.embed_tokens.weight");
  const dtype = embed.dtype;
  checkInputs(config, inputs, options, B, S);

  const lora = options.lora;
  if (lora) {
    const names = linearModules(config).map((m) => m.split(".")[1]!);
    for (const t of lora.targets) {
      if (!names.includes(t)) throw new GraphError(`LoRA target ${t}: a ${config.family} model's linear layers are ${names.join(", ")}`);
    }
  }
  const loraScale = lora ? lora.alpha / (lora.rsLora ? Math.sqrt(lora.rank) : lora.rank) : 0;

  // y = x·Wᵀ (+ b), plus the LoRA branch when the module is a target.
  const linear = (x: Tensor, module: string): Tensor => {
    const w = need(`${module}.weight`);
    const [outF, inF] = w.shape as [number, number];
    const dense = (v: Tensor): Tensor => {
      const y = gemmLinear(v, w); // x·Wᵀ as one Gemm(transB): no transposed copy of W
      const b = weights.get(`${module}.bias`);
      return b ? add(y, b) : y;
    };
    const bias = weights.get(`${module}.bias`);
    let y = options.linear ? options.linear(x, module, dense, { weight: w, ...(bias ? { bias } : {}) }) : dense(x);
    if (lora && lora.targets.includes(module.slice(module.lastIndexOf(".") + 1))) {
      const { a, b } = lora.weights(module, { in: inF, out: outF, rank: lora.rank });
      if (a.shape.join() !== `${lora.rank},${inF}` || b.shape.join() !== `${outF},${lora.rank}`) {
        throw new GraphError(`LoRA ${module}: A ${a} and B ${b} must be [${lora.rank},${inF}] and [${outF},${lora.rank}]`);
      }
      const xin = lora.dropout ? lora.dropout(x, module) : x;
      y = add(y, gemmLinear(gemmLinear(xin, a, loraScale), b));
    }
    return y;
  };

  // Rotary tables for these positions: cos/sin [batch, 1, seq, rotaryDim/2] (longrope also scales them), one pair
  // per rope base (Gemma 3's sliding layers have their own).
  // 16-bit compute (mixed precision on GPUs): positions and angles in float32, the tables cast down.
  const half = dtype === "float16" || dtype === "bfloat16";
  const angleType = half ? "float32" : dtype;
  const tables = new Map<boolean, { cos: Tensor; sin: Tensor }>();
  const ropeTables = (sliding: boolean) => {
    const key = sliding && config.slidingRopeTheta !== undefined;
    let t = tables.get(key);
    if (!t) {
      const { invFreq, scale } = ropeFrequencies(config, options.cache ? options.cache.keys[0]!.shape[2]! : S, { sliding: key });
      const angles = mul(unsqueeze(cast(inputs.positionIds, angleType), -1), g.constant(invFreq, angleType, [invFreq.length]));
      t = {
        cos: cast(unsqueeze(scale === 1 ? cos(angles) : mul(cos(angles), scale), 1), dtype),
        sin: cast(unsqueeze(scale === 1 ? sin(angles) : mul(sin(angles), scale), 1), dtype),
      };
      tables.set(key, t);
    }
    return t;
  };
  // RMSNorm's mean of squares overflows float16 for activations above 256: normalize in float32. Gemma's weights
  // are stored as w − 1.
  const offset = config.normWeightOffset;
  const norm = (x: Tensor, w: Tensor): Tensor => {
    if (!half) return rmsNorm(x, offset ? add(w, offset) : w, eps);
    const w32 = cast(w, "float32");
    return cast(rmsNorm(cast(x, "float32"), offset ? add(w32, offset) : w32, eps), dtype);
  };
  const applyRope = (t: Tensor, rope: { cos: Tensor; sin: Tensor }): Tensor => {
    if (config.rotaryDim === hd) return rotary(t, rope.cos, rope.sin);
    const [r, pass] = split(t, [config.rotaryDim, hd - config.rotaryDim], -1);
    return concat([rotary(r!, rope.cos, rope.sin), pass!], -1);
  };

  const masks = new Map<boolean, Tensor>();
  const maskOf = (sliding: boolean): Tensor => {
    let m = masks.get(sliding);
    if (!m) {
      m = g.scope(sliding ? "sliding_mask" : "mask", () =>
        attentionBias(g, inputs, options.cache, dtype, sliding ? config.slidingWindow!.size : undefined),
      );
      masks.set(sliding, m);
    }
    return m;
  };

  // [B, S, n·hd] → [B, n, S, hd]
  const heads = (t: Tensor, n: number): Tensor => transpose(reshape(t, [B, S, n, hd]), [0, 2, 1, 3]);
  const presentKeys: Tensor[] = [];
  const presentValues: Tensor[] = [];

  const attention = (x: Tensor, l: number): Tensor => {
    const p = `model.layers.${l}.self_attn`;
    const sliding = isSlidingLayer(config, l);
    let q: Tensor, k: Tensor, v: Tensor;
    if (config.fused) [q, k, v] = split(linear(x, `${p}.qkv_proj`), [nh * hd, nkv * hd, nkv * hd], -1) as [Tensor, Tensor, Tensor];
    else [q, k, v] = [linear(x, `${p}.q_proj`), linear(x, `${p}.k_proj`), linear(x, `${p}.v_proj`)];
    q = heads(q, nh);
    k = heads(k, nkv);
    v = heads(v, nkv);
    if (config.qkNorm) {
      q = norm(q, need(`${p}.q_norm.weight`));
      k = norm(k, need(`${p}.k_norm.weight`));
    }
    if (usesRope(config, l)) {
      const rope = ropeTables(sliding);
      q = applyRope(q, rope);
      k = applyRope(k, rope);
    }
    q = mul(q, config.attentionScale);
    if (options.cache) {
      // Write the new keys/values at their positions; attend over every slot (the mask hides unwritten ones).
      const slots = expand(reshape(inputs.positionIds, [B, 1, S, 1]), [B, nkv, S, hd]);
      k = scatterElements(options.cache.keys[l]!, slots, k, 2);
      v = scatterElements(options.cache.values[l]!, slots, v, 2);
      presentKeys.push(k);
      presentValues.push(v);
    }
    // Grouped-query attention without copying K/V: query heads [B, nkv, group, S, hd] against K/V [B, nkv, 1, T, hd]
    // (plain [B, nh, S, hd] against [B, nh, T, hd] when every head has its own K/V).
    const group = nh / nkv;
    const mask = maskOf(sliding);
    const qg = group === 1 ? q : reshape(q, [B, nkv, group, S, hd]);
    const [kg, vg] = group === 1 ? [k, v] : [unsqueeze(k, 2), unsqueeze(v, 2)];
    const scores = add(matmul(qg, transposeLast2(kg)), group === 1 ? squeeze(mask, 2) : mask);
    const out = matmul(softmax(scores, -1), vg);
    const merged = reshape(transpose(reshape(out, [B, nh, S, hd]), [0, 2, 1, 3]), [B, S, nh * hd]);
    return linear(merged, `${p}.o_proj`);
  };

  const act = config.activation === "gelu_tanh" ? geluTanh : silu;
  const mlp = (x: Tensor, l: number): Tensor => {
    const p = `model.layers.${l}.mlp`;
    let gate: Tensor, up: Tensor;
    if (config.fused) [gate, up] = split(linear(x, `${p}.gate_up_proj`), [ff, ff], -1) as [Tensor, Tensor];
    else [gate, up] = [linear(x, `${p}.gate_proj`), linear(x, `${p}.up_proj`)];
    return linear(mul(act(gate), up), `${p}.down_proj`);
  };

  let h = g.scope("embed", () =>
    config.embeddingScale === 1 ? gather(embed, inputs.inputIds) : mul(gather(embed, inputs.inputIds), config.embeddingScale),
  );
  for (let l = 0; l < config.numLayers; l++) {
    const layer = (): Tensor => {
      const p = `model.layers.${l}`;
      const x = h;
      let a = g.scope("attn", () => attention(norm(x, need(`${p}.input_layernorm.weight`)), l));
      // Gemma 3: post_attention_layernorm normalizes the attention's output; pre_feedforward_layernorm the MLP's input.
      if (config.sandwichNorms) a = norm(a, need(`${p}.post_attention_layernorm.weight`));
      const r = add(x, a);
      const mlpNorm = need(`${p}.${config.sandwichNorms ? "pre_feedforward_layernorm" : "post_attention_layernorm"}.weight`);
      let m = g.scope("mlp", () => mlp(norm(r, mlpNorm), l));
      if (config.sandwichNorms) m = norm(m, need(`${p}.post_feedforward_layernorm.weight`));
      return add(r, m);
    };
    h = g.scope(`layers.${l}`, () => (options.recompute ? g.recompute(layer, `layers.${l}`) : layer()));
  }
  const hidden = g.scope("norm", () => norm(h, need("model.norm.weight")));

  let logits: Tensor | undefined;
  const which = options.logits ?? "all";
  if (which !== "none") {
    const head = weights.get("lm_head.weight") ?? (config.tieEmbeddings ? embed : need("lm_head.weight"));
    const at = options.logitsAt;
    if (at && (at.dtype !== "int64" || at.rank !== 1 || which !== "all"))
      throw new GraphError(`logitsAt must be int64 [n] with logits "all", got ${at}`);
    const x = which === "last" ? slice(hidden, [S - 1], [S], [1]) : at ? gather(reshape(hidden, [B * S, hidden.shape[2]!]), at) : hidden;
    const cap = config.finalLogitSoftcap;
    logits = g.scope("lm_head", () => {
      const raw = gemmLinear(x, head);
      return cap === undefined ? raw : mul(tanh(mul(raw, 1 / cap)), cap);
    });
  }
  return options.cache ? { logits, hidden, presentKeys, presentValues } : { logits, hidden };
}

/** GELU with the tanh approximation (transformers' gelu_pytorch_tanh): ½x(1 + tanh(√(2/π)(x + 0.044715x³))). */
function geluTanh(x: Tensor): Tensor {
  const inner = mul(add(x, mul(mul(mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
  return mul(mul(x, 0.5), add(tanh(inner), 1));
}

/**
 * The additive attention mask, 0 where a query may attend and −∞ elsewhere, [batch|1, 1, 1, seq, keys]: causal,
 * within the same packed segment (and its shared prefix and own branch, with branch ids), and inside the sliding window when one is given (query i sees key j when
 * i − j < window). With a cache the keys are the cache slots and a query at position p sees slots ≤ p.
 */
function attentionBias(g: Graph, inputs: ForwardInputs, cache: KvCache | undefined, dtype: Tensor["dtype"], window?: number): Tensor {
  const [B, S] = inputs.inputIds.shape as [number, number];
  let visible: Tensor;
  let queryPos: Tensor;
  let keyPos: Tensor;
  if (cache) {
    const slots = cache.keys[0]!.shape[2]!;
    queryPos = unsqueeze(inputs.positionIds, 2); // [B, S, 1]
    keyPos = reshape(arange(g, slots), [1, 1, slots]);
    visible = lessEqual(keyPos, queryPos); // [B, S, slots]
  } else {
    const idx = arange(g, S);
    visible = lessEqual(reshape(idx, [1, S]), reshape(idx, [S, 1])); // key index ≤ query index
    if (inputs.segmentIds) visible = and(visible, equal(unsqueeze(inputs.segmentIds, 2), unsqueeze(inputs.segmentIds, 1)));
    if (inputs.branchIds) {
      const keyBranch = unsqueeze(inputs.branchIds, 1);
      visible = and(visible, or(equal(keyBranch, 0), equal(unsqueeze(inputs.branchIds, 2), keyBranch)));
    }
    queryPos = unsqueeze(inputs.positionIds, 2);
    keyPos = unsqueeze(inputs.positionIds, 1);
  }
  if (window !== undefined) visible = and(visible, less(sub(queryPos, keyPos), window));
  const bias = where(visible, g.scalar(0, dtype), g.scalar(-Infinity, dtype));
  const rows = bias.rank === 3 ? bias.shape[0]! : 1;
  return reshape(bias, [rows, 1, 1, S, bias.shape[bias.rank - 1]!]);
}

function checkInputs(config: ModelConfig, inputs: ForwardInputs, options: ForwardOptions, B: number, S: number): void {
  const shaped = (t: Tensor | undefined, what: string): void => {
    if (t && (t.dtype !== "int64" || t.shape.join() !== `${B},${S}`))
      throw new GraphError(`${what} must be int64 [${B},${S}] like input_ids, got ${t}`);
  };
  if (inputs.inputIds.dtype !== "int64" || inputs.inputIds.rank !== 2)
    throw new GraphError(`input_ids must be int64 [batch, seq], got ${inputs.inputIds}`);
  shaped(inputs.positionIds, "position_ids");
  shaped(inputs.segmentIds, "segment_ids");
  shaped(inputs.branchIds, "branch_ids");
  if (inputs.branchIds && !inputs.segmentIds) throw new GraphError("branch_ids need segment_ids (each tree is a segment)");
  const c = options.cache;
  if (c) {
    if (inputs.segmentIds || inputs.branchIds)
      throw new GraphError("segment_ids and branch_ids (packing) cannot be combined with a KV cache");
    if (c.keys.length !== config.numLayers || c.values.length !== config.numLayers)
      throw new GraphError(`the KV cache needs ${config.numLayers} layers of keys and values`);
    for (const t of [...c.keys, ...c.values]) {
      if (t.rank !== 4 || t.shape[0] !== B || t.shape[1] !== config.numKvHeads || t.shape[3] !== config.headDim) {
        throw new GraphError(`KV cache tensor ${t} must be [${B}, ${config.numKvHeads}, slots, ${config.headDim}]`);
      }
    }
  }
}

/**
 * Mean (or summed) next-token cross-entropy: `targets[b, i]` is the token that should follow position i (labels
 * shifted left by one, −100 where nothing is learned).
 */
export function nextTokenLoss(logits: Tensor, targets: Tensor, options: { ignoreIndex?: number; reduction?: "mean" | "sum" } = {}): Tensor {
  const V = logits.shape[logits.rank - 1]!;
  return crossEntropy(reshape(logits, [-1, V]), reshape(targets, [-1]), options);
}
