// A model folder checked as a whole before any work starts: config.json against the tensors its checkpoint headers
// declare (names, shapes, dtypes; no tensor data is read) and against tokenizer.json's ids. train, export and merge
// run it on every folder they open, so a config that disagrees with its weights is one line naming the file and
// field, never a graph, a buffer or a GGUF built from a number nobody checked.
import type { ModelConfig } from "./config.js";
import { HfConfigError } from "./errors.js";
import { hfTensorShapes, textModelTensorName, type HfTensorShape } from "./tensors.js";

/** A tensor as a safetensors header declares it. */
export interface TensorHeader {
  name: string;
  shape: readonly number[];
  dtype: string;
  /** The file that holds it (for messages). */
  file?: string;
}

export interface ModelFolder {
  config: ModelConfig;
  /** config.json's path or label. */
  configFile: string;
  /** Every tensor of the checkpoint (all shards), under the names in the file. */
  tensors: readonly TensorHeader[];
  /** The parsed tokenizer.json, when the folder has one. */
  tokenizer?: Record<string, unknown>;
  tokenizerFile?: string;
}

const FLOAT_DTYPES = new Set(["F32", "F16", "BF16", "F64"]);

/** The config.json field behind each dimension of a tensor, by the tensor's last name part. */
const FIELDS: Record<string, readonly string[]> = {
  embed_tokens: ["vocab_size", "hidden_size"],
  lm_head: ["vocab_size", "hidden_size"],
  q_proj: ["num_attention_heads × head_dim", "hidden_size"],
  k_proj: ["num_key_value_heads × head_dim", "hidden_size"],
  v_proj: ["num_key_value_heads × head_dim", "hidden_size"],
  qkv_proj: ["(num_attention_heads + 2 × num_key_value_heads) × head_dim", "hidden_size"],
  o_proj: ["hidden_size", "num_attention_heads × head_dim"],
  gate_proj: ["intermediate_size", "hidden_size"],
  up_proj: ["intermediate_size", "hidden_size"],
  gate_up_proj: ["2 × intermediate_size", "hidden_size"],
  down_proj: ["hidden_size", "intermediate_size"],
  q_norm: ["head_dim"],
  k_norm: ["head_dim"],
};

function fieldOf(tensor: HfTensorShape, dim: number): string {
  const parts = tensor.name.split(".");
  const module = parts.at(-1) === "weight" || parts.at(-1) === "bias" ? parts.at(-2)! : parts.at(-1)!;
  return FIELDS[module]?.[dim] ?? "hidden_size";
}

/** The one plain config.json key in a field expression ("num_attention_heads × head_dim" → "head_dim" if given). */
function keyOf(field: string): string {
  const keys = field.match(/[a-z_]+/g) ?? [field];
  return keys.at(-1)!;
}

/**
 * Checks that config.json, the checkpoint and tokenizer.json describe one model; throws an HfConfigError naming the
 * file and field that disagree. Work is bounded by the number of tensors in the headers, not by any config number.
 */
export function checkModelFolder(folder: ModelFolder): void {
  const { config, configFile } = folder;
  const fail = (field: string, message: string): never => {
    throw new HfConfigError(message, configFile, field);
  };
  const tensors = new Map<string, TensorHeader>();
  for (const t of folder.tensors) {
    const name = textModelTensorName(t.name);
    if (name === undefined) continue;
    if (!FLOAT_DTYPES.has(t.dtype))
      throw new HfConfigError(
        `dtype ${t.dtype} is not a float type (F32, F16, BF16, F64) that we can read`,
        t.file ?? "checkpoint",
        t.name,
      );
    tensors.set(name, t);
  }
  const where = (t: TensorHeader) => t.file?.replace(/^.*[/\\]/, "") ?? "the checkpoint";

  // The layer count first: the list of tensors the config implies is as long as it says.
  let layers = 0;
  for (const name of tensors.keys()) {
    const m = /^model\.layers\.(\d+)\./.exec(name);
    if (m) layers = Math.max(layers, Number(m[1]) + 1);
  }
  if (layers !== config.numLayers) {
    fail(
      "num_hidden_layers",
      `${config.numLayers} disagrees with the checkpoint, which has ${layers} layer${layers === 1 ? "" : "s"} (model.layers.0 to model.layers.${layers - 1})`,
    );
  }

  for (const expected of hfTensorShapes(config)) {
    const found = tensors.get(expected.name);
    if (!found) {
      const optional = expected.kind === "bias" || expected.name === "lm_head.weight";
      if (optional) continue;
      fail(
        "architectures",
        `the checkpoint has no tensor ${expected.name}, which a ${config.architecture} needs (is this the right config.json?)`,
      );
    }
    const actual = found!.shape;
    const dim = expected.shape.findIndex((d, i) => actual[i] !== d);
    if (dim >= 0 || actual.length !== expected.shape.length) {
      const field = fieldOf(expected, dim >= 0 ? dim : 0);
      fail(
        keyOf(field),
        `${field} disagrees with ${where(found!)}: ${expected.name} is [${actual.join(", ")}], the config implies [${expected.shape.join(", ")}]`,
      );
    }
  }
  if (config.tieEmbeddings === false && !tensors.has("lm_head.weight")) {
    fail(
      "tie_word_embeddings",
      "is false but the checkpoint has no lm_head.weight (set it to true if the output layer shares the embeddings)",
    );
  }

  if (folder.tokenizer) checkTokenizerIds(folder.tokenizer, config.vocabSize, folder.tokenizerFile ?? "tokenizer.json", configFile);
}

/**
 * Every id tokenizer.json gives lies inside the model's vocabulary, and the vocabulary is not empty. (The file's own
 * limits are checkTokenizerJson's.)
 */
export function checkTokenizerIds(
  json: Record<string, unknown>,
  vocabSize: number,
  file = "tokenizer.json",
  configFile = "config.json",
): void {
  const outside = (field: string, id: unknown): never => {
    throw new HfConfigError(
      `id ${JSON.stringify(id)} is outside the model's vocabulary (${configFile} vocab_size ${vocabSize})`,
      file,
      field,
    );
  };
  const inside = (id: unknown) => typeof id === "number" && Number.isInteger(id) && id >= 0 && id < vocabSize;
  const model = (json.model ?? {}) as Record<string, unknown>;
  const vocab = model.vocab;
  let size = 0;
  if (Array.isArray(vocab)) {
    size = vocab.length;
    if (size > vocabSize) outside("model.vocab", size - 1);
  } else if (typeof vocab === "object" && vocab !== null) {
    for (const token in vocab) {
      size++;
      const id = (vocab as Record<string, unknown>)[token];
      if (!inside(id)) outside(`model.vocab[${JSON.stringify(token.slice(0, 40))}]`, id);
    }
  }
  const added = Array.isArray(json.added_tokens) ? (json.added_tokens as Array<Record<string, unknown>>) : [];
  added.forEach((token, i) => {
    if (!inside(token?.id)) outside(`added_tokens[${i}].id`, token?.id);
  });
  if (size === 0) throw new HfConfigError("the vocabulary is empty", file, "model.vocab");
}
