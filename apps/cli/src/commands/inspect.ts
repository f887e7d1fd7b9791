import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { LlamaFtype } from "@neural/quantize";
import { GGUF_ARCHITECTURES, openGguf, type GgufValue } from "@neural/gguf-writer";
import {
  ARCHITECTURES,
  HfConfigError,
  hfTensorShapes,
  isSlidingLayer,
  parseHfConfigText,
  usesRope,
  type ModelConfig,
  type ModelFamily,
} from "@neural/hf-config";
import { EXIT, type Command, type Io } from "../command.js";

/** Models people bring of each architecture (for the families table). */
const EXAMPLES: Record<string, string> = {
  LlamaForCausalLM: "Llama 2/3 (llama3 rope scaling), TinyLlama, SmolLM2",
  MistralForCausalLM: "Mistral",
  Qwen2ForCausalLM: "Qwen2, Qwen2.5",
  Qwen3ForCausalLM: "Qwen3 dense, 0.6B-32B",
  Phi3ForCausalLM: "Phi-3, Phi-3.5 mini",
  Gemma3ForCausalLM: "Gemma 3 270M, 1B",
  Gemma3ForConditionalGeneration: "Gemma 3 4B-27B: the text model (no vision tower)",
  SmolLM3ForCausalLM: "SmolLM3",
};

/** The architectures we train and export, one row each: HF architecture, family, llama.cpp architecture, models. */
function familyRows(): Array<{ architecture: string; family: ModelFamily; llamaCpp: string; models: string }> {
  return Object.entries(ARCHITECTURES).map(([architecture, family]) => ({
    architecture,
    family,
    llamaCpp: GGUF_ARCHITECTURES[family].arch,
    models: EXAMPLES[architecture] ?? "",
  }));
}

/** A metadata value as plain JSON (bigints as strings, long arrays summarised unless `full`). */
function jsonValue(v: GgufValue, full: boolean): unknown {
  if (v.type === "ARRAY") {
    const items = Array.from(v.value as ArrayLike<unknown>, (x) => (typeof x === "bigint" ? x.toString() : x));
    if (full || items.length <= 16) return items;
    return { type: v.itemType, length: items.length, first: items.slice(0, 8) };
  }
  return typeof v.value === "bigint" ? v.value.toString() : v.value;
}

/** Names for the metadata that holds an enum: general.file_type (llama_ftype). Tensor types are named by the reader. */
const FILE_TYPE_NAMES = new Map<number, string>(Object.entries(LlamaFtype).map(([name, id]) => [id, name]));
const ENUM_NAMES: Record<string, ReadonlyMap<number, string>> = { "general.file_type": FILE_TYPE_NAMES };

/** The enum name of a metadata value (`MOSTLY_Q4_K_M` for general.file_type 15), when the key holds one. */
export function enumName(key: string, v: GgufValue): string | undefined {
  const names = ENUM_NAMES[key];
  if (!names || typeof v.value !== "number") return undefined;
  return names.get(v.value) ?? "unknown";
}

function textValue(v: GgufValue): string {
  if (v.type === "ARRAY") {
    const items = Array.from(v.value as ArrayLike<unknown>);
    const shown = items.slice(0, 6).map((x) => (typeof x === "string" ? JSON.stringify(x) : String(x)));
    return `[${v.itemType.toLowerCase()} × ${items.length}] ${shown.join(", ")}${items.length > 6 ? ", ..." : ""}`;
  }
  if (v.type === "STRING") return JSON.stringify(v.value.length > 120 ? `${v.value.slice(0, 117)}...` : v.value);
  return String(v.value);
}

/** The layers of `config` where `test` holds, as "0-4, 6-10" (at most a line's worth). */
function layerList(config: ModelConfig, test: (l: number) => boolean): string {
  const runs: string[] = [];
  for (let l = 0; l < config.numLayers && runs.length < 12; l++) {
    if (!test(l)) continue;
    let end = l;
    while (end + 1 < config.numLayers && test(end + 1)) end++;
    runs.push(end === l ? `${l}` : `${l}-${end}`);
    l = end;
  }
  return runs.length ? runs.join(", ") : "none";
}

/** A Hugging Face model folder: what it is, what it becomes in llama.cpp, its shapes and patterns. */
async function inspectModelFolder(dir: string, json: boolean, io: Io): Promise<number> {
  const file = path.join(dir, "config.json");
  const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new HfConfigError(`cannot read: ${error.code ?? error.message}`, file);
  });
  const config = parseHfConfigText(text, file);
  const llamaCpp = GGUF_ARCHITECTURES[config.family].arch;
  const tensors = hfTensorShapes(config);
  const parameters = tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  const embedding = tensors.filter((t) => t.kind === "embedding").reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  if (json) {
    io.out(JSON.stringify({ dir, llamaCppArchitecture: llamaCpp, parameters, config }, null, 2));
    return EXIT.ok;
  }
  const c = config;
  io.out(
    `${dir}: Hugging Face model, ${c.architecture}${c.textTower ? " (its text model)" : ""}, family ${c.family} → llama.cpp architecture ${llamaCpp}`,
  );
  io.out(
    `  ${(parameters / 1e6).toFixed(1)} M parameters (${(embedding / 1e6).toFixed(1)} M in the embeddings${c.tieEmbeddings ? ", tied to the output" : ""})`,
  );
  io.out(
    `  ${c.numLayers} layers, hidden ${c.hiddenSize}, ${c.numHeads} heads (${c.numKvHeads} key/value) of ${c.headDim}, MLP ${c.intermediateSize} (${c.activation === "silu" ? "SwiGLU" : "GeGLU"}), vocabulary ${c.vocabSize}, context ${c.maxPositions}`,
  );
  const scaling = c.ropeScaling.type === "none" ? "" : `, ${c.ropeScaling.type} scaling`;
  io.out(
    `  rotary base ${c.ropeTheta}${scaling}${c.slidingRopeTheta !== undefined ? ` (sliding layers ${c.slidingRopeTheta})` : ""}; layers without rotary positions: ${layerList(c, (l) => !usesRope(c, l))}`,
  );
  io.out(
    `  sliding window: ${c.slidingWindow ? `${c.slidingWindow.size} tokens on layers ${layerList(c, (l) => isSlidingLayer(c, l))}` : "none"}`,
  );
  const quirks = [
    c.qkNorm && "q/k norms",
    c.normWeightOffset && "norms scale by 1 + w",
    c.embeddingScale !== 1 && `embeddings × ${c.embeddingScale.toFixed(2)}`,
    c.sandwichNorms && "norms after attention and MLP",
    c.attentionScale !== 1 / Math.sqrt(c.headDim) && `attention scale ${c.attentionScale}`,
    c.finalLogitSoftcap !== undefined && `logits soft-capped at ${c.finalLogitSoftcap}`,
    c.fused && "fused qkv and gate/up",
  ].filter(Boolean);
  if (quirks.length) io.out(`  ${quirks.join("; ")}`);
  return EXIT.ok;
}

export const inspect: Command = {
  name: "inspect",
  positionals: [{ name: "path", description: "a .gguf file or a Hugging Face model folder" }],
  options: [
    {
      name: "json",
      type: "boolean",
      description: "print JSON: {metadata: {key: {type, value}}, tensors: [...]}, or the parsed config of a model folder",
    },
    { name: "full", type: "boolean", description: "with --json, print long arrays (token lists) in full" },
    {
      name: "families",
      type: "boolean",
      description: "list the model families neural trains and exports, and the llama.cpp architecture of each",
    },
  ],
  async run(args, io) {
    const file = args.positionals[0];
    if (args.options.families) {
      const rows = familyRows();
      if (args.options.json) {
        io.out(JSON.stringify(rows, null, 2));
        return EXIT.ok;
      }
      const header = { architecture: "architecture", family: "family", llamaCpp: "llama.cpp", models: "models" };
      const w = (k: "architecture" | "family" | "llamaCpp") => Math.max(...[header, ...rows].map((r) => r[k].length));
      for (const r of [header, ...rows])
        io.out(
          `${r.architecture.padEnd(w("architecture"))}  ${r.family.padEnd(w("family"))}  ${r.llamaCpp.padEnd(w("llamaCpp"))}  ${r.models}`,
        );
      return EXIT.ok;
    }
    if (!file) {
      io.err("neural inspect: give a .gguf file or a model folder (or --families)");
      return EXIT.usage;
    }
    if ((await stat(file).catch(() => undefined))?.isDirectory()) return inspectModelFolder(file, Boolean(args.options.json), io);
    const r = await openGguf(file);
    try {
      const g = r.gguf;
      if (args.options.json) {
        const metadata: Record<string, unknown> = {};
        for (const [k, v] of g.metadata) {
          const name = enumName(k, v);
          metadata[k] = {
            type: v.type === "ARRAY" ? `ARRAY<${v.itemType}>` : v.type,
            value: jsonValue(v, Boolean(args.options.full)),
            ...(name ? { name } : {}),
          };
        }
        io.out(
          JSON.stringify(
            {
              file,
              version: g.version,
              alignment: g.alignment,
              size: g.size,
              metadata,
              tensors: g.tensors.map((t) => ({ name: t.name, type: t.type, shape: t.ne, bytes: t.bytes, offset: t.offset })),
            },
            null,
            2,
          ),
        );
        return EXIT.ok;
      }
      io.out(`${file}: GGUF v${g.version}, ${g.metadata.size} metadata keys, ${g.tensors.length} tensors, ${(g.size / 1e6).toFixed(1)} MB`);
      const arch = g.metadata.get("general.architecture")?.value;
      const from = familyRows()
        .filter((row) => row.llamaCpp === arch)
        .map((row) => row.architecture);
      io.out(
        `architecture ${JSON.stringify(arch)}: ${from.length ? `what neural exports from ${from.join(", ")}` : "not one neural trains or exports"}`,
      );
      io.out("");
      const width = Math.max(...[...g.metadata.keys()].map((k) => k.length), 10);
      for (const [k, v] of g.metadata) {
        const name = enumName(k, v);
        io.out(
          `  ${k.padEnd(width)}  ${(v.type === "ARRAY" ? "arr" : v.type.toLowerCase()).padEnd(6)} ${name ? `${name} (${textValue(v)})` : textValue(v)}`,
        );
      }
      io.out("");
      const nameWidth = Math.max(...g.tensors.map((t) => t.name.length), 4);
      io.out(`  ${"name".padEnd(nameWidth)}  ${"type".padEnd(5)}  ${"shape".padEnd(16)}  bytes`);
      const byType = new Map<string, { n: number; bytes: number }>();
      for (const t of g.tensors) {
        io.out(`  ${t.name.padEnd(nameWidth)}  ${t.type.padEnd(5)}  ${`[${t.ne.join(", ")}]`.padEnd(16)}  ${t.bytes}`);
        const s = byType.get(t.type) ?? { n: 0, bytes: 0 };
        s.n++;
        s.bytes += t.bytes;
        byType.set(t.type, s);
      }
      io.out("");
      io.out(`  ${[...byType].map(([t, s]) => `${t}: ${s.n} tensors, ${(s.bytes / 1e6).toFixed(2)} MB`).join("; ")}`);
      return EXIT.ok;
    } finally {
      await r.close();
    }
  },
};
