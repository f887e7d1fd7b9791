// Real tokenizers, three implementations: Hugging Face's (what a model was trained on), ours (what our trainer feeds
// it) and llama.cpp on our GGUF (what serves it) give the same ids on hard strings and each family's chat markup,
// except where a documented llama.cpp rule says otherwise (tokenizer-parity.spec-helper.ts, docs/tokenizers.md).
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withLlamaModel } from "@neural/llama";
import { REAL_TOKENIZERS, realTokenizer, writeTinyModel } from "@neural/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { convertHfToGguf } from "./index.js";
import { KNOWN_DIFFERENCES, tokenizerParity } from "./tokenizer-parity.spec-helper.js";

const root = await mkdtemp(join(tmpdir(), "tokenizer-parity-"));
afterAll(() => rm(root, { recursive: true, force: true }));

describe.each(REAL_TOKENIZERS)("the real %s tokenizer", (name) => {
  it("tokenizes the same in Hugging Face, in our trainer and in llama.cpp, but for documented llama.cpp rules", async () => {
    const parity = await tokenizerParity(name, root);
    const unexplained = parity.differences
      .filter((d) => !d.rule)
      .map((d) => `${d.side}, special ${d.row.special}: ${JSON.stringify(d.row.text)}`);
    expect(unexplained).toEqual([]);
    // BOS as NornicDB's llama_tokenize(add_special) adds it, from the GGUF's metadata, is what training put first
    expect(parity.start.llamacpp).toEqual(parity.start.training);
    // a ▁ before the first word only where the tokenizer prepends one (Llama-2's normalizer; not Gemma's)
    expect(parity.addSpacePrefix).toBe(
      ({ "llama-2": true, tinyllama: true, "phi-3": true, mistral: true, "gemma-3": false } as Record<string, boolean>)[name],
    );
    // Every listed difference still happens (a rule that no longer applies is removed from the list and the docs).
    for (const known of KNOWN_DIFFERENCES[name] ?? []) {
      expect(
        parity.differences.some((d) => d.rule === known.rule),
        `${known.rule} on ${JSON.stringify(known.text)}`,
      ).toBe(true);
    }
    await rm(join(root, name), { recursive: true, force: true });
    await rm(join(root, `${name}.gguf`), { force: true });
  });
});

describe("general.name, which llama.cpp's tokenizer reads", () => {
  // Phi-3's markers strip the whitespace after them (rstrip); llama.cpp does so only for names containing "phi-3"/"phi3".
  const phi3 = async (dir: string, config: Record<string, unknown> = {}) => {
    const real = realTokenizer("phi-3");
    await writeTinyModel(dir, {
      family: "phi3",
      seed: 1,
      layers: 1,
      hiddenSize: 64,
      intermediateSize: 128,
      heads: 2,
      kvHeads: 1,
      dtype: "F16",
      vocabSize: real.vocabSize,
      tokenizerFiles: { tokenizer: real.tokenizer, config: real.config },
    });
    const path = join(dir, "config.json");
    await writeFile(path, JSON.stringify({ ...JSON.parse(await readFile(path, "utf8")), ...config }));
  };
  const tokens = (gguf: string) =>
    withLlamaModel(gguf, {}, (llama) => llama.tokenize("<|user|>\nHello<|end|>\n<|assistant|>\n", { special: true }));
  const TRAINED = [32010, 15043, 32007, 32001]; // what Hugging Face gives: <|user|> ▁Hello <|end|> <|assistant|>

  it("comes from the model, not its folder, so a Phi-3 export keeps Phi-3's marker rule", async () => {
    const dir = join(root, "merged"); // a folder name without "phi"
    await phi3(dir);
    const gguf = join(root, "merged.gguf");
    const result = await convertHfToGguf({ modelDir: dir, output: gguf, outType: "F16" });
    expect(result.name).toBe("Phi-3");
    expect(result.warnings).toEqual([]);
    expect(await tokens(gguf)).toEqual(TRAINED);

    await phi3(join(root, "from-hub"), { _name_or_path: "microsoft/Phi-3-mini-4k-instruct" });
    const named = await convertHfToGguf({ modelDir: join(root, "from-hub"), output: join(root, "from-hub.gguf"), outType: "F16" });
    expect(named.name).toBe("Phi-3-mini-4k-instruct");
    expect(await tokens(join(root, "from-hub.gguf"))).toEqual(TRAINED);
  });

  it("can be overridden, with a warning when the name turns the rule off", async () => {
    const gguf = join(root, "renamed.gguf");
    const result = await convertHfToGguf({ modelDir: join(root, "merged"), output: gguf, outType: "F16", name: "my-assistant" });
    expect(result.name).toBe("my-assistant");
    expect(result.warnings.join("\n")).toMatch(/does not contain "phi3" or "phi-3"/);
    expect(await tokens(gguf)).toEqual([32010, 29871, 13, 10994, 32007, 29871, 13, 32001, 29871, 13]);
  });
});
