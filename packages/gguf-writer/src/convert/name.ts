// general.name: llama.cpp reads more than a label from it. Its tokenizer gives Phi-3's chat markers the whitespace
// after them (rstrip, as Phi-3's tokenizer.json does) only when the lower-cased name contains "phi3" or "phi-3";
// under any other name `<|user|>\nHello` tokenizes differently from training. So the name comes from the model,
// never from the folder it sits in.

/** The family's canonical name, by config.json model_type. */
const CANONICAL: Record<string, string> = {
  llama: "Llama",
  mistral: "Mistral",
  qwen2: "Qwen2",
  qwen3: "Qwen3",
  phi3: "Phi-3",
  gemma: "Gemma",
  gemma2: "Gemma-2",
  gemma3: "Gemma-3",
  gemma3_text: "Gemma-3",
  smollm3: "SmolLM3",
};

/**
 * general.name of a Hugging Face model: the last part of config.json's `_name_or_path` ("microsoft/Phi-3-mini-4k-instruct"
 * gives "Phi-3-mini-4k-instruct", as transformers records the id a model was loaded from), else the family's
 * canonical name ("Phi-3", "Qwen2", ...).
 */
export function modelName(config: Record<string, unknown>): string {
  const recorded =
    typeof config._name_or_path === "string" ? config._name_or_path.split(/[\\/]/).filter(Boolean).pop()?.split("@")[0] : undefined;
  if (recorded) return recorded;
  const type = typeof config.model_type === "string" ? config.model_type : "";
  if (CANONICAL[type]) return CANONICAL[type];
  const architecture = Array.isArray(config.architectures) && typeof config.architectures[0] === "string" ? config.architectures[0] : "";
  return architecture.replace(/For(CausalLM|ConditionalGeneration)$/, "") || type || "model";
}

/** What llama.cpp will do differently from the model's tokenizer under `name` (empty when nothing). */
export function nameWarnings(name: string, tokenizer: Record<string, any> | undefined): string[] {
  const stripping = ((tokenizer?.added_tokens ?? []) as Array<{ content: string; special?: boolean; rstrip?: boolean }>).filter(
    (t) => t.special && t.rstrip,
  );
  const phi3Markers = stripping.some((t) => t.content === "<|end|>" || t.content === "<|user|>" || t.content === "<|assistant|>");
  const lower = name.toLowerCase();
  if (phi3Markers && !lower.includes("phi3") && !lower.includes("phi-3")) {
    return [
      `general.name "${name}" does not contain "phi3" or "phi-3": llama.cpp will keep the whitespace after Phi-3's markers ` +
        `(<|user|>, <|end|>, ...) that the tokenizer strips, so prompts tokenize differently from training`,
    ];
  }
  return [];
}
