// What NornicDB answers with a GGUF: its serving prompt (pkg/heimdall BuildPrompt: ChatML, hard-coded, the GGUF's chat
// template is never read), tokenized by llama_tokenize(add_special = 1, parse_special = 1), generated until an EOG
// token or one of its stop strings, each token's text being llama_token_to_piece(special = 1) — run by llama.cpp here.
//
// NornicDB samples (pkg/localllm sample_token: top-k 40 → top-p 0.9 → temperature 0.1 → dist, seed 42); this check
// generates greedily, and reports how much of NornicDB's sampling mass the greedy token holds at each step (`minShare`):
// near 1, NornicDB's sampled answer is this one.
import { chatmlPrompt, CHATML_STOP, type LlamaModelProcess, type LoadOptions, withLlamaModel } from "./runner.js";

export interface ChatMessage {
  role: string;
  content: string;
}

/** NornicDB's generation defaults (pkg/heimdall DefaultGenerateParams). */
export const NORNICDB_SAMPLING = { maxTokens: 512, temperature: 0.1, topP: 0.9, topK: 40 } as const;
/** NornicDB's stop strings (also checked against control tokens' text). */
export const NORNICDB_STOP = CHATML_STOP;

/** NornicDB's serving prompt for `messages`: `<|im_start|>{role}\n{content}<|im_end|>\n` each, then `<|im_start|>assistant\n`. */
export const nornicdbPrompt = (messages: readonly ChatMessage[]): string => chatmlPrompt(messages);

export interface NornicdbAnswer {
  /** The answer as NornicDB returns it: the generated text up to the first stop string or EOG token, untrimmed. */
  text: string;
  /** The exact prompt string sent. */
  prompt: string;
  /** Its tokens (llama_tokenize with add_special and parse_special). */
  promptTokens: number[];
  /** Generated tokens (the EOG token last when generation ended on one). */
  tokens: number[];
  /** "eog", "maxTokens" or "stop:<string>". */
  stoppedBy: string;
  /**
   * The smallest share, over the generated tokens, of NornicDB's sampling distribution (top-k 40, top-p 0.9,
   * temperature 0.1 over llama.cpp's next-token probabilities) that the greedy token holds. 1 = NornicDB cannot pick
   * anything else; computed only with `confidence: true`.
   */
  minShare?: number;
}

export interface NornicdbOptions {
  /** Default 512 (NornicDB's). */
  maxTokens?: number;
  /** Also compute `minShare` (one more forward pass over prompt and answer). */
  confidence?: boolean;
}

/** Sends `messages` to an already loaded model the way NornicDB does and returns its answer. */
export async function nornicdbAnswerWith(model: LlamaModelProcess, messages: readonly ChatMessage[], options: NornicdbOptions = {}): Promise<NornicdbAnswer> {
  const prompt = nornicdbPrompt(messages);
  const promptTokens = await model.tokenize(prompt, { special: true, addSpecial: true });
  const gen = await model.generate(promptTokens, { maxTokens: options.maxTokens ?? NORNICDB_SAMPLING.maxTokens, stop: NORNICDB_STOP, special: true });
  const answer: NornicdbAnswer = { text: gen.text, prompt, promptTokens, tokens: gen.tokens, stoppedBy: gen.stoppedBy };
  if (options.confidence && gen.tokens.length > 0) {
    // The distribution before each generated token: positions promptTokens.length - 1 ... (the last one is not needed).
    const all = [...promptTokens, ...gen.tokens.slice(0, -1)];
    const { probabilities } = await model.distributions(all, { from: promptTokens.length - 1 });
    answer.minShare = Math.min(...gen.tokens.map((t, i) => nornicdbShare(probabilities[i]!, t)));
  }
  return answer;
}

/** Loads `ggufPath` in llama.cpp (child process), sends `messages` as NornicDB does, returns the answer. */
export async function nornicdbAnswer(
  ggufPath: string,
  messages: readonly ChatMessage[],
  options: NornicdbOptions & { load?: LoadOptions } = {},
): Promise<NornicdbAnswer> {
  return withLlamaModel(ggufPath, { contextSize: 2048, ...options.load }, (model) => nornicdbAnswerWith(model, messages, options));
}

/**
 * The probability that llama.cpp's sampler chain top_k(40) → top_p(0.9, min_keep 1) → temp(0.1) → dist picks
 * `token`, given the full next-token distribution `p` (softmax of the raw logits).
 */
export function nornicdbShare(p: ArrayLike<number>, token: number, params: { topK: number; topP: number; temperature: number } = NORNICDB_SAMPLING): number {
  const order = Array.from({ length: p.length }, (_, i) => i).sort((a, b) => p[b]! - p[a]! || a - b);
  const topK = order.slice(0, params.topK);
  // top_p renormalizes over the candidates left by top_k, keeps the shortest prefix reaching topP (at least one).
  const mass = topK.reduce((s, i) => s + p[i]!, 0);
  const kept: number[] = [];
  let cumulative = 0;
  for (const i of topK) {
    kept.push(i);
    cumulative += p[i]! / mass;
    if (cumulative >= params.topP) break;
  }
  if (!kept.includes(token)) return 0;
  // temperature divides the logits: weights p^(1/T), relative to the largest for stability.
  const top = p[kept[0]!]!;
  const weight = (i: number) => Math.exp(Math.log(p[i]! / top) / params.temperature);
  return weight(token) / kept.reduce((s, i) => s + weight(i), 0);
}
