import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeExample, IGNORE_INDEX } from "./encode.js";
import type { Example, Message } from "./formats.js";
import { realTokenizer } from "@neural/testkit";
import { resolveTemplate } from "./prepare.js";
import { createTemplate, type TemplateName } from "./templates.js";
import { createTokenizer, withSpecialTokens } from "./tokenizer.js";
import { testTokenizer } from "./fixtures.spec-helper.js";

const text = fc.string({ unit: "binary", minLength: 1, maxLength: 40 }).filter((s) => s.trim() !== "");
const conversation = fc
  .record({
    system: fc.option(text, { nil: undefined }),
    turns: fc.array(fc.tuple(text, text), { minLength: 1, maxLength: 4 }),
  })
  .map(({ system, turns }): Example => {
    const messages: Message[] = system ? [{ role: "system", content: system }] : [];
    for (const [user, assistant] of turns) messages.push({ role: "user", content: user }, { role: "assistant", content: assistant });
    return { format: "chat", kind: "chat", messages };
  });

/** Maximal runs of learned positions, decoded. */
function learnedRuns(ids: Int32Array, labels: Int32Array, decode: (ids: number[]) => string): string[] {
  const runs: string[] = [];
  let run: number[] = [];
  for (let i = 0; i <= ids.length; i++) {
    if (i < ids.length && labels[i] !== IGNORE_INDEX) {
      expect(labels[i]).toBe(ids[i]);
      run.push(ids[i]!);
    } else if (run.length) {
      runs.push(decode(run));
      run = [];
    }
  }
  return runs;
}

describe("labels", () => {
  it("are -100 exactly outside each assistant answer and its <|im_end|> (ChatML)", async () => {
    const tokenizer = await testTokenizer();
    const template = createTemplate("chatml");
    await fc.assert(
      fc.asyncProperty(conversation, async (example) => {
        const result = encodeExample(example, { template, tokenizer, maxLength: 100_000 });
        const { inputIds, labels } = result.example!;
        expect(tokenizer.decode(Array.from(inputIds))).toBe(
          template
            .render(example)
            .map((s) => s.text)
            .join(""),
        );
        const answers =
          example.kind === "chat" ? example.messages.filter((m) => m.role === "assistant").map((m) => `${m.content}<|im_end|>`) : [];
        expect(learnedRuns(inputIds, labels, tokenizer.decode)).toEqual(answers);
      }),
      { numRuns: 150 },
    );
  });

  it("cover every token but BOS with trainOnInputs, and the answer plus EOS under Alpaca", async () => {
    const tokenizer = await testTokenizer();
    const example: Example = {
      format: "instruction",
      kind: "chat",
      messages: [
        { role: "user", content: "Classify this" },
        { role: "assistant", content: "TLP:GREEN" },
      ],
    };
    const all = encodeExample(example, { template: createTemplate("chatml"), tokenizer, maxLength: 512, trainOnInputs: true }).example!;
    expect(Array.from(all.labels)).toEqual(Array.from(all.inputIds));
    const alpaca = createTemplate("alpaca", { eos: tokenizer.eos!.text });
    const encoded = encodeExample(example, { template: alpaca, tokenizer, maxLength: 512 }).example!;
    expect(learnedRuns(encoded.inputIds, encoded.labels, tokenizer.decode)).toEqual(["TLP:GREEN<|im_end|>"]);
  });

  it("drops or truncates over-long examples by policy, and drops examples with nothing to learn", async () => {
    const tokenizer = await testTokenizer();
    const template = createTemplate("chatml");
    const long: Example = {
      format: "chat",
      kind: "chat",
      messages: [
        { role: "user", content: "word ".repeat(50) },
        { role: "assistant", content: "ok" },
      ],
    };
    expect(encodeExample(long, { template, tokenizer, maxLength: 20 })).toMatchObject({ dropped: "too_long" });
    const cut = encodeExample(long, { template, tokenizer, maxLength: 20, overlong: "truncate" });
    expect(cut).toMatchObject({ dropped: "nothing_to_learn" }); // the answer was cut off entirely
    const kept = encodeExample(long, { template, tokenizer, maxLength: 1000, overlong: "truncate" });
    expect(kept.example!.inputIds.length).toBeLessThan(1000);
  });
});

describe("the end of an answer, with real tokenizers", () => {
  const llama2 = realTokenizer("llama-2"); // tokenizer.json as first published: <s>, </s>, <unk> marked normalized: true
  const tokenizer = createTokenizer({ tokenizer: llama2.tokenizer, config: llama2.config });
  // The same file under TinyLlama's chat template, which writes eos_token right after the answer.
  const zephyr = createTokenizer({
    tokenizer: llama2.tokenizer,
    config: { ...llama2.config, chat_template: realTokenizer("tinyllama").config.chat_template },
  });
  const example: Example = {
    format: "chat",
    kind: "chat",
    messages: [
      { role: "user", content: "Capital of France?" },
      { role: "assistant", content: "Paris" },
    ],
  };
  const learned = (template: TemplateName, t = tokenizer) => {
    const { inputIds, labels } = encodeExample(example, { template: resolveTemplate(template, t), tokenizer: t, maxLength: 512 }).example!;
    return { inputIds: Array.from(inputIds), learned: Array.from(labels).filter((l) => l !== IGNORE_INDEX) };
  };

  it.each<[string, TemplateName, typeof tokenizer]>([
    ["alpaca", "alpaca", tokenizer],
    ["model (Llama-2-chat's template)", "model", tokenizer],
    ["model (TinyLlama's template)", "model", zephyr],
  ])(
    "is EOS id 2 in the labels under --template %s, never </s> spelled as text (Llama-2's first tokenizer.json)",
    (_label, template, t) => {
      const { inputIds, learned: ids } = learned(template, t);
      expect(ids.at(-1)).toBe(2);
      expect(ids.filter((id) => id === 2)).toHaveLength(1);
      expect(tokenizer.decode(ids)).toMatch(/^ ?Paris ?<\/s>$/);
      // the old labels: "</s>" re-tokenized by the ▁-prepending normalizer as ▁ < / s >
      expect(inputIds.join(",")).not.toContain([29871, 29946, 829, 29879, 29958].join(","));
    },
  );

  it("is the answer as the whole text tokenizes it: no ▁ inserted where the prompt ends (SentencePiece)", () => {
    const { learned: ids } = learned("alpaca");
    // "### Response:\nParis": after the newline comes "Paris", not the "▁Paris" that tokenizing the answer alone gives
    const whole = tokenizer.encode("### Response:\nParis");
    expect(ids.slice(0, -1)).toEqual(whole.slice(whole.length - (ids.length - 1)));
  });

  it("is <|im_end|> by id under --template chatml (Qwen2.5)", () => {
    const qwen = realTokenizer("qwen2.5");
    const t = createTokenizer({ tokenizer: qwen.tokenizer, config: qwen.config });
    const { labels } = encodeExample(example, { template: resolveTemplate("chatml", t), tokenizer: t, maxLength: 512 }).example!;
    const ids = Array.from(labels).filter((l) => l !== IGNORE_INDEX);
    expect(ids.at(-1)).toBe(151645);
    expect(t.decode(ids)).toBe("Paris<|im_end|>");
  }, 120_000);
});

describe("the start of a sequence, with real tokenizers", () => {
  // llama.cpp adds BOS when the GGUF's tokenizer.ggml.add_bos_token says so, which the export derives from the same
  // files (a TemplateProcessing post-processor starting with BOS, alone or inside a Sequence as in Llama-3's).
  it.each([
    ["llama-3.2", true, 128000],
    ["gemma-3", true, 2],
    ["tinyllama", true, 1],
    ["phi-3", false, 1],
    ["qwen3", false, undefined],
  ] as const)(
    "%s: BOS starts every sequence: %s",
    (name, addBos, bos) => {
      const real = realTokenizer(name);
      const t = createTokenizer({ tokenizer: real.tokenizer, config: real.config });
      expect({ addBos: t.addBos, bos: t.bos?.id }).toEqual({ addBos, bos });
      const { inputIds } = encodeExample(
        { format: "completion", kind: "text", text: "Hello" },
        { template: resolveTemplate("chatml", t), tokenizer: t, maxLength: 64 },
      ).example!;
      expect(inputIds[0] === bos).toBe(addBos);
    },
    120_000,
  );
});

describe("withSpecialTokens: the ChatML markers on a vocabulary without them", () => {
  it("adds them as special tokens after the last id, so <|im_end|> ends an answer by id (TinyLlama's tokenizer)", () => {
    const real = realTokenizer("tinyllama");
    const before = createTokenizer({ tokenizer: real.tokenizer, config: real.config });
    expect(before.encode("<|im_end|>").length).toBeGreaterThan(1);
    const { files, added } = withSpecialTokens({ tokenizer: real.tokenizer, config: real.config }, ["<|im_start|>", "<|im_end|>"]);
    expect(added).toEqual([
      { id: 32000, text: "<|im_start|>" },
      { id: 32001, text: "<|im_end|>" },
    ]);
    const t = createTokenizer(files);
    expect(t.vocabSize).toBe(32002);
    expect(t.specialTokens.get("<|im_end|>")).toBe(32001);
    const { labels } = encodeExample(
      {
        format: "chat",
        kind: "chat",
        messages: [
          { role: "user", content: "Capital of France?" },
          { role: "assistant", content: "Paris" },
        ],
      },
      { template: resolveTemplate("chatml", t), tokenizer: t, maxLength: 64 },
    ).example!;
    const ids = Array.from(labels).filter((l) => l !== IGNORE_INDEX);
    expect(ids.at(-1)).toBe(32001);
    expect(t.decode(ids)).toBe("Paris<|im_end|>");
    // a vocabulary that has them (Qwen's) is left as it is
    const qwen = realTokenizer("qwen3");
    expect(withSpecialTokens({ tokenizer: qwen.tokenizer, config: qwen.config }, ["<|im_start|>", "<|im_end|>"]).added).toEqual([]);
  }, 120_000);
});

describe("a raw prompt with its answer ({text, prompt_end}: NornicDB's raw-text paths)", () => {
  const qwen = realTokenizer("qwen2.5");
  const tokenizer = createTokenizer({ tokenizer: qwen.tokenizer, config: qwen.config });
  // the agentic loop's prompt ends in "Assistant: ": as one text, that space would merge with the answer's "{"
  const prompt = "TOOLS AVAILABLE TO YOU:\n- query\n\nUser: how many nodes?\n\nAssistant: ";
  const answer = '{"tool": "query", "args": {}}';
  const example: Example = { format: "completion", kind: "text", text: prompt + answer, promptEnd: prompt.length };

  it("is the prompt tokenized alone (as llama.cpp is sent it), then the answer and EOS, and only the answer learned", () => {
    const encoded = encodeExample(example, { template: resolveTemplate("chatml", tokenizer), tokenizer, maxLength: 512 }).example!;
    const promptIds = tokenizer.encode(prompt);
    const answerIds = tokenizer.encode(answer + tokenizer.eos!.text);
    expect(Array.from(encoded.inputIds)).toEqual([...promptIds, ...answerIds]);
    expect(Array.from(encoded.labels)).toEqual([...promptIds.map(() => IGNORE_INDEX), ...answerIds]);
    // the whole text tokenized as one differs at the boundary: the reason the prompt is tokenized alone
    expect(tokenizer.encode(prompt + answer).slice(0, promptIds.length)).not.toEqual(promptIds);
  });
});
