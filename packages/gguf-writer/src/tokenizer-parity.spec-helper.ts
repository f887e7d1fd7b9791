// Tokenizer parity per model family, on the real tokenizer files: Hugging Face's implementation (transformers.js
// AutoTokenizer's class on the files: what a model was trained on), ours (@neural/dataset: what our trainer feeds
// it) and llama.cpp on the GGUF we export (what serves it), on hard strings and the family's chat markup, with
// special-token parsing on and off. Used by tokenizer-parity.spec.ts and by `pnpm tokenizer-parity` (the table in
// docs/tokenizers.md).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PreTrainedTokenizer } from "@huggingface/transformers";
import { createTokenizer } from "@neural/dataset";
import { withLlamaModel } from "@neural/llama";
import { HARD_STRINGS, realTokenizer, writeTinyModel, type RealTokenizerName } from "@neural/testkit";
import { convertHfToGguf, openGguf } from "./index.js";

export interface ParityRow {
  text: string;
  /** Special-token parsing (llama_tokenize's parse_special; Hugging Face's split_special_tokens = !special). */
  special: boolean;
  reference: number[];
  /** Our training tokenizer (always parses special tokens, so only rows with `special`). */
  training?: number[];
  llamacpp: number[];
}

export interface KnownDifference {
  /** The string (`<chat>`: the family's chat markup). */
  text: string;
  /** Special-token parsing on or off; both when absent. */
  special?: boolean;
  /** Which side disagrees with llama.cpp; both when absent. */
  side?: "reference" | "training";
  rule: keyof typeof RULES;
}

export interface FamilyParity {
  name: RealTokenizerName;
  model: string;
  source: string;
  arch: string;
  generalName: string;
  /** tokenizer.ggml.add_space_prefix as exported (SentencePiece-style vocabularies only). */
  addSpacePrefix?: boolean;
  rows: ParityRow[];
  /**
   * The start of a sequence: our trainer's ids of a prompt (BOS when the tokenizer adds one) and llama.cpp's with
   * add_special, as NornicDB tokenizes (BOS when the GGUF's tokenizer.ggml.add_bos_token asks for it).
   */
  start: { training: number[]; llamacpp: number[]; bos?: number };
  /** Differences from llama.cpp, each matched to a known rule or not. */
  differences: Array<{ row: ParityRow; side: "reference" | "training"; rule?: string }>;
}

/** The rules behind the differences that remain (docs/tokenizers.md explains each). */
export const RULES = {
  "no-nfc":
    "llama.cpp does not run the tokenizer.json normalizer of byte-level BPE tokenizers: Qwen's NFC is skipped, so decomposed (NFD) and compatibility characters tokenize differently",
  "eos-text":
    'llama.cpp makes every token whose text is "</s>" a control token that ends generation, whatever the vocabulary says: Qwen\'s ordinary "</s>" (128247) is parsed as one token, and Phi-3\'s and Gemma\'s non-special "</s>" is no longer matched when special tokens are not parsed',
  "normalized-specials":
    'Llama-2\'s tokenizer.json as first published marks <s>, </s>, <unk> `normalized: true`: Hugging Face then matches them only after the ▁-prepending normalizer, so "</s>" inside text is cut into pieces and no ▁ follows <s>; llama.cpp and our trainer take them as control tokens',
} as const;

const NFD = "e\u0301 (e + combining acute, NFD) vs \u00e9 (NFC)";
const COMPAT = "\u212b angstrom sign, \u00c5 A-ring, A\u030a A + ring";
const SPECIAL_TEXTS = "</s> <s> <unk> <|endoftext|>";

/** Every difference from llama.cpp that a family is known to have, and why. */
export const KNOWN_DIFFERENCES: Partial<Record<RealTokenizerName, KnownDifference[]>> = {
  "qwen2.5": [
    { text: NFD, rule: "no-nfc" },
    { text: COMPAT, rule: "no-nfc" },
    { text: SPECIAL_TEXTS, special: true, rule: "eos-text" },
  ],
  qwen3: [
    { text: NFD, rule: "no-nfc" },
    { text: COMPAT, rule: "no-nfc" },
    { text: SPECIAL_TEXTS, special: true, rule: "eos-text" },
  ],
  "llama-2": [
    { text: SPECIAL_TEXTS, special: true, side: "reference", rule: "normalized-specials" },
    { text: "<chat>", special: true, side: "reference", rule: "normalized-specials" },
  ],
  "phi-3": [{ text: SPECIAL_TEXTS, special: false, side: "reference", rule: "eos-text" }],
  "gemma-3": [{ text: SPECIAL_TEXTS, special: false, side: "reference", rule: "eos-text" }],
};

/** The strings of one family: the hard strings and its chat markup (written `<chat>` in KNOWN_DIFFERENCES). */
export const parityStrings = (chat: string): string[] => [...HARD_STRINGS, chat];

/** Builds a tiny model around the real tokenizer `name`, exports it, and compares the three tokenizers. */
export async function tokenizerParity(name: RealTokenizerName, workDir: string): Promise<FamilyParity> {
  const real = realTokenizer(name);
  const dir = join(workDir, name);
  await mkdir(dir, { recursive: true });
  const model = await writeTinyModel(dir, {
    family: real.host,
    seed: 1,
    layers: 1,
    hiddenSize: 64,
    intermediateSize: 128,
    heads: 2,
    kvHeads: 1,
    dtype: "F16",
    tieEmbeddings: real.host !== "phi3",
    vocabSize: real.vocabSize,
    tokenizerFiles: { tokenizer: real.tokenizer, config: real.config },
  });
  // The model's name as transformers saves it, so the export names the GGUF as llama.cpp expects.
  const configPath = join(dir, "config.json");
  await writeFile(configPath, JSON.stringify({ _name_or_path: real.model, ...JSON.parse(await readFile(configPath, "utf8")) }, null, 2));
  const gguf = join(workDir, `${name}.gguf`);
  const result = await convertHfToGguf({ modelDir: model.dir, output: gguf, outType: "F16" });
  const meta = await openGguf(gguf);
  const generalName = String(meta.get("general.name"));
  const addSpacePrefix = meta.get("tokenizer.ggml.add_space_prefix") as boolean | undefined;
  await meta.close();

  const reference = new PreTrainedTokenizer(real.tokenizer, real.config);
  // split_special_tokens: special added tokens are text, the other added tokens still split (as parse_special = false).
  const referenceNoSpecial = new PreTrainedTokenizer(
    { ...real.tokenizer, added_tokens: real.tokenizer.added_tokens.filter((t: { special?: boolean }) => !t.special) },
    real.config,
  );
  const training = createTokenizer({ tokenizer: real.tokenizer, config: real.config });
  const rows: ParityRow[] = [];
  const prompt = "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n";
  const bos = training.addBos ? training.bos?.id : undefined;
  const start: FamilyParity["start"] = {
    training: [...(bos !== undefined ? [bos] : []), ...training.encode(prompt)],
    llamacpp: [],
    ...(bos !== undefined ? { bos } : {}),
  };
  await withLlamaModel(gguf, {}, async (llama) => {
    start.llamacpp = await llama.tokenize(prompt, { special: true, addSpecial: true });
    for (const text of parityStrings(real.chat)) {
      for (const special of [true, false]) {
        rows.push({
          text,
          special,
          reference: (special ? reference : referenceNoSpecial).encode(text, { add_special_tokens: false }),
          ...(special ? { training: training.encode(text) } : {}),
          llamacpp: await llama.tokenize(text, { special }),
        });
      }
    }
  });
  const known = KNOWN_DIFFERENCES[name] ?? [];
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  const differences: FamilyParity["differences"] = [];
  for (const row of rows) {
    for (const side of ["reference", "training"] as const) {
      const ids = row[side];
      if (ids === undefined || same(ids, row.llamacpp)) continue;
      const text = row.text === real.chat ? "<chat>" : row.text;
      const rule = known.find((k) => k.text === text && (k.special ?? row.special) === row.special && (k.side ?? side) === side)?.rule;
      differences.push({ row, side, ...(rule ? { rule } : {}) });
    }
  }
  return {
    name,
    model: real.model,
    source: real.source,
    arch: result.arch,
    generalName,
    ...(addSpacePrefix !== undefined ? { addSpacePrefix } : {}),
    rows,
    start,
    differences,
  };
}

function startCell({ training, llamacpp, bos }: FamilyParity["start"]): string {
  const same = training.length === llamacpp.length && training.every((x, i) => x === llamacpp[i]);
  if (!same) return `**differ**: ours starts ${training[0]}, llama.cpp ${llamacpp[0]}`;
  return bos === undefined ? "yes, no BOS" : `yes, BOS ${bos}`;
}

/** The parity table (markdown): per family, strings equal with special tokens parsed and not, and what differs. */
export function parityTable(results: readonly FamilyParity[]): string {
  const lines = [
    "| family (files) | GGUF arch, general.name | specials parsed: HF = llama.cpp | ours = llama.cpp | specials as text: HF = llama.cpp | BOS (ours = llama.cpp's add_special) | differences |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of results) {
    const on = r.rows.filter((x) => x.special);
    const off = r.rows.filter((x) => !x.special);
    const equal = (rows: ParityRow[], side: "reference" | "training") =>
      rows.filter((x) => !r.differences.some((d) => d.row === x && d.side === side)).length;
    const explained = r.differences.filter((d) => d.rule);
    const unexplained = r.differences.length - explained.length;
    const why = [...new Set(explained.map((d) => d.rule))].join(", ");
    lines.push(
      `| ${r.name} (${r.source}) | ${r.arch}, "${r.generalName}" | ${equal(on, "reference")}/${on.length} | ${equal(on, "training")}/${on.length} | ${equal(off, "reference")}/${off.length} | ${startCell(r.start)} | ` +
        `${r.differences.length === 0 ? "none" : `${explained.length} explained (${why})${unexplained ? `, **${unexplained} unexplained**` : ""}`} |`,
    );
  }
  return lines.join("\n");
}
