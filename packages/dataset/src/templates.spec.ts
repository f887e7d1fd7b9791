import { describe, expect, it } from "vitest";
import type { Example } from "./formats.js";
import { CHATML_JINJA, createTemplate } from "./templates.js";

const chat: Example = {
  format: "chat",
  kind: "chat",
  messages: [
    { role: "system", content: "You are Heimdall." },
    { role: "user", content: "Classify: salary data" },
    { role: "assistant", content: "TLP:RED" },
    { role: "user", content: "And a press release?" },
    { role: "assistant", content: "TLP:CLEAR" },
  ],
};
const joined = (segments: { text: string }[]) => segments.map((s) => s.text).join("");
const learned = (segments: { text: string; learn: boolean }[]) => segments.filter((s) => s.learn).map((s) => s.text);

describe("ChatML (NornicDB's serving format)", () => {
  const chatml = createTemplate("chatml");

  it("renders each turn as <|im_start|>{role}\\n{content}<|im_end|>\\n and learns only answers with <|im_end|>", () => {
    const segments = chatml.render(chat);
    expect(joined(segments)).toBe(
      "<|im_start|>system\nYou are Heimdall.<|im_end|>\n<|im_start|>user\nClassify: salary data<|im_end|>\n<|im_start|>assistant\nTLP:RED<|im_end|>\n" +
        "<|im_start|>user\nAnd a press release?<|im_end|>\n<|im_start|>assistant\nTLP:CLEAR<|im_end|>",
    );
    expect(learned(segments)).toEqual(["TLP:RED<|im_end|>", "TLP:CLEAR<|im_end|>"]);
  });

  it("its training prefix equals the prompt NornicDB sends at serving time", () => {
    const prompt = chatml.prompt(chat.kind === "chat" ? chat.messages.slice(0, 2) : []);
    expect(prompt).toBe(
      "<|im_start|>system\nYou are Heimdall.<|im_end|>\n<|im_start|>user\nClassify: salary data<|im_end|>\n<|im_start|>assistant\n",
    );
    expect(joined(chatml.render(chat)).startsWith(prompt)).toBe(true);
  });

  it("the jinja template renders the same text, so llama.cpp formats prompts as we trained", () => {
    const viaJinja = createTemplate("model", { chatTemplate: CHATML_JINJA, eos: "<|im_end|>" });
    expect(joined(viaJinja.render(chat))).toBe(joined(createTemplate("chatml").render(chat)) + "\n");
    expect(learned(viaJinja.render(chat))).toEqual(["TLP:RED<|im_end|>", "TLP:CLEAR<|im_end|>"]);
    expect(viaJinja.endOfTurn).toBe("<|im_end|>");
  });
});

describe("Alpaca (### Instruction: and ### Response:)", () => {
  it("shows instruction and input apart and ends answers with EOS", () => {
    const alpaca = createTemplate("alpaca", { eos: "</s>" });
    const example: Example = {
      format: "instruction",
      kind: "chat",
      messages: [
        { role: "user", content: "Classify\n\nsalary data", instruction: { instruction: "Classify", input: "salary data" } },
        { role: "assistant", content: "TLP:RED" },
      ],
    };
    expect(joined(alpaca.render(example))).toBe("### Instruction:\nClassify\n\n### Input:\nsalary data\n\n### Response:\nTLP:RED</s>");
    expect(learned(alpaca.render(example))).toEqual(["TLP:RED</s>"]);
  });
});

describe("the model's own chat_template", () => {
  const llama3 =
    "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

  it("finds each answer and its end-of-turn token by rendering growing prefixes", () => {
    const template = createTemplate("model", { chatTemplate: llama3, bos: "<|begin_of_text|>", eos: "<|end_of_text|>" });
    expect(template.endOfTurn).toBe("<|eot_id|>");
    expect(learned(template.render(chat))).toEqual(["TLP:RED<|eot_id|>", "TLP:CLEAR<|eot_id|>"]);
    expect(joined(template.render(chat)).startsWith("<|begin_of_text|><|start_header_id|>system")).toBe(true);
  });

  it("says clearly when the tokenizer has no chat_template or it does not parse", () => {
    expect(() => createTemplate("model", {})).toThrow(/needs a chat_template/);
    expect(() => createTemplate("model", { chatTemplate: "{% for %}" })).toThrow(/does not parse/);
  });
});
