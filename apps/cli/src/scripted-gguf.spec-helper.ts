// A GGUF whose answer is known in advance, for tests of the llama.cpp paths (run, eval, NornicDB's prompt): a tiny
// qwen2 model (@neural/testkit's byte-level BPE tokenizer with <|im_start|>/<|im_end|>) whose blocks add nothing, so
// the next token depends on the current token alone, and whose embeddings and lm_head chain "\n" → the answer's
// bytes → <|im_end|>. Every ChatML prompt ends with "\n", so llama.cpp answers `answer` (as single-byte tokens) with
// probability 1 - e^-160 at each step, then ends the turn. Given several answers, "\n" leads to each one's first token
// (or <|im_end|> for "") with equal logits, so a sampled answer is any of them.
import { join } from "node:path";
import { byteToUnicode } from "@neural/dataset";
import { convertHfToGguf } from "@neural/gguf-writer";
import { saveSafetensors } from "@neural/safetensors";
import { hfTensorShapes, writeTinyModel } from "@neural/testkit";

export interface ScriptedGguf {
  path: string;
  /** Token ids of the answer's bytes, then <|im_end|>. */
  script: number[];
  imEnd: number;
  newline: number;
}

export async function writeScriptedGguf(
  dir: string,
  answer: string | readonly string[],
  outType: "F32" | "Q8_0" = "F32",
): Promise<ScriptedGguf> {
  const tiny = await writeTinyModel(dir, { family: "qwen2", seed: 1, tieEmbeddings: false, dtype: "F32" });
  const vocab = (tiny.tokenizer.tokenizer as { model: { vocab: Record<string, number> } }).model.vocab;
  const chars = byteToUnicode();
  const id = (byte: number) => {
    const t = vocab[chars[byte]!];
    if (t === undefined) throw new Error(`no token for byte ${byte}`);
    return t;
  };
  const answers = typeof answer === "string" ? [answer] : answer;
  const newline = id(0x0a);
  const imEnd = tiny.tokenizer.ids.imEnd!;
  const chains = answers.map((a) => [newline, ...[...new TextEncoder().encode(a)].map(id), imEnd]);
  const inner = chains.flatMap((c) => c.slice(1, -1));
  if (new Set([newline, ...inner]).size !== inner.length + 1)
    throw new Error(`the answers ${JSON.stringify(answers)} repeat a byte (or have a newline)`);
  const H = tiny.config.hidden_size;
  if (inner.length + 1 > H) throw new Error("answers longer than the hidden size");
  const unit = new Map([newline, ...inner].map((t, k) => [t, k])); // token → its unit vector e_k
  const tensors = hfTensorShapes(tiny.config, "qwen2").map(({ name, shape, kind }) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (kind === "norm") data.fill(1);
    if (name === "model.embed_tokens.weight") for (const [t, k] of unit) data[t * H + k] = 1;
    if (name === "lm_head.weight") for (const c of chains) c.slice(1).forEach((next, i) => (data[next * H + unit.get(c[i]!)!] = 10)); // e_k → logit 10·16 for the next one
    return { name, dtype: "F32" as const, shape, data };
  });
  await saveSafetensors(join(dir, "model.safetensors"), tensors, { metadata: { format: "pt" } });
  const path = `${dir}.${outType}.gguf`;
  await convertHfToGguf({ modelDir: dir, output: path, outType });
  return { path, script: chains[0]!.slice(1), imEnd, newline };
}
