// What `neural run` and `neural eval` share: check a GGUF with our hardened reader before llama.cpp sees it, find its
// chat template, and load it in llama.cpp (a child process, so a file that makes llama.cpp abort cannot kill the CLI).
import { availableParallelism } from "node:os";
import { CHATML_STOP, createTemplate, TemplateError, type Message } from "@neural/dataset";
import { openGguf } from "@neural/gguf-writer";
import { LlamaModelProcess, type LoadOptions } from "@neural/llama";

export interface ChatFormat {
  /** The prompt for `messages` (ending with the assistant header). */
  prompt(messages: readonly Message[]): string;
  /** Stop strings: NornicDB's (`<|im_end|>`, `<|endoftext|>`, `</s>`) plus the template's end of turn. */
  stop: string[];
  /** "gguf" when the file's `tokenizer.chat_template` renders the prompt, "chatml" otherwise. */
  source: "gguf" | "chatml";
  /** Why the GGUF's template is not used, when it is not. */
  note?: string;
}

export const chatmlFormat = (note?: string): ChatFormat => ({
  prompt: (messages) => createTemplate("chatml").prompt(messages),
  stop: [...CHATML_STOP],
  source: "chatml",
  ...(note ? { note } : {}),
});

/**
 * Reads the GGUF's header and metadata (a non-GGUF or truncated file fails here with a GgufError naming the file and
 * field) and returns the chat format: its `tokenizer.chat_template` (jinja) when present and renderable, else ChatML.
 */
export async function ggufChatFormat(file: string, options: { chatml?: boolean } = {}): Promise<ChatFormat> {
  const gguf = await openGguf(file);
  try {
    if (options.chatml) return chatmlFormat();
    const template = gguf.get("tokenizer.chat_template");
    if (typeof template !== "string" || template.trim() === "")
      return chatmlFormat("the GGUF has no tokenizer.chat_template; using ChatML");
    const tokens = gguf.get("tokenizer.ggml.tokens") as readonly string[] | undefined;
    const tokenText = (key: string): string | undefined => {
      const id = gguf.get(key);
      return typeof id === "number" && tokens ? tokens[id] : undefined;
    };
    const bos = tokenText("tokenizer.ggml.bos_token_id");
    const eos = tokenText("tokenizer.ggml.eos_token_id");
    try {
      const t = createTemplate("model", {
        chatTemplate: template,
        ...(bos !== undefined ? { bos } : {}),
        ...(eos !== undefined ? { eos } : {}),
      });
      const stop = [...new Set([...CHATML_STOP, ...(t.endOfTurn ? [t.endOfTurn] : [])])];
      return { prompt: (messages) => t.prompt(messages), stop, source: "gguf" };
    } catch (error) {
      if (error instanceof TemplateError) return chatmlFormat(`the GGUF's chat template cannot be used (${error.message}); using ChatML`);
      throw error;
    }
  } finally {
    await gguf.close();
  }
}

/** CPU threads for llama.cpp: all cores but one, at most 8 (1 on a 2-core machine, where more threads spin). */
export const defaultThreads = (): number => Math.max(1, Math.min(8, availableParallelism() - 1));

export async function loadGguf(file: string, options: LoadOptions): Promise<LlamaModelProcess> {
  return LlamaModelProcess.load(file, { threads: defaultThreads(), ...options });
}

/**
 * A prompt's tokens as llama.cpp's tools make them (control tokens parsed, BOS/EOS as the vocabulary asks), with one
 * BOS dropped when the chat template wrote it too.
 */
export async function promptTokens(model: LlamaModelProcess, prompt: string): Promise<number[]> {
  const tokens = await model.tokenize(prompt, { special: true, addSpecial: true });
  const bos = model.info.bos;
  return bos !== null && tokens[0] === bos && tokens[1] === bos ? tokens.slice(1) : tokens;
}
