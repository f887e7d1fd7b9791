// What NornicDB answers with a GGUF: its serving prompt (pkg/heimdall BuildPrompt: ChatML, hard-coded, the GGUF's chat
// template is never read; the raw-text paths send their prompt as it is), tokenized by llama_tokenize(add_special = 1,
// parse_special = 1), generated until an EOG token or a single token whose piece equals one of its stop strings, each
// token's text being llama_token_to_piece(special = 1) — run by llama.cpp here.
//
// NornicDB samples with a new chain per token (top-k → top-p if < 1 → temperature if > 0 → dist, seed 42). With
// top_p = 0 (the chat path as its UI calls it, and edge QC) top-p keeps one token: greedy, which is what runs here.
// Where it samples for real (synthesis, autocomplete), this runs greedily and reports how much of NornicDB's sampling
// mass the greedy token holds at each step (`minShare`): near 1, NornicDB's sampled answer is this one.
import { chatmlPrompt, CHATML_STOP, type LlamaModelProcess, type LoadOptions, withLlamaModel } from "./runner.js";

export interface ChatMessage {
  role: string;
  content: string;
}

/** NornicDB's generation defaults (pkg/heimdall DefaultGenerateParams). */
export const NORNICDB_SAMPLING = { maxTokens: 512, temperature: 0.1, topP: 0.9, topK: 40 } as const;
/** NornicDB's stop strings (also checked against control tokens' text). */
export const NORNICDB_STOP = CHATML_STOP;

/** How NornicDB calls the model on each path (the reference's call-site table). */
export interface NornicdbCallSite {
  maxTokens: number;
  temperature: number;
  /** 0 = greedy (top-p keeps one token). */
  topP: number;
  /** 0 = no top-k. */
  topK: number;
  stop: readonly string[];
}

export const NORNICDB_CALL_SITES = {
  /** Bifrost chat as its UI calls it: max_tokens 512, temperature 0.1, no top_p (so 0). */
  chat: { maxTokens: 512, temperature: 0.1, topP: 0, topK: 40, stop: CHATML_STOP },
  /** The prompt-based agentic loop uses the chat params. */
  loop: { maxTokens: 512, temperature: 0.1, topP: 0, topK: 40, stop: CHATML_STOP },
  /** Synthesis, SendRawPrompt, SendPrompt: DefaultGenerateParams. */
  synthesis: { maxTokens: 512, temperature: 0.1, topP: 0.9, topK: 40, stop: CHATML_STOP },
  autocomplete: {
    maxTokens: 128,
    temperature: 0.2,
    topP: 0.8,
    topK: 20,
    stop: ["The user", "They are", "I need to", "IMPORTANT", "Rules:", "Available", "Complete query:", "\n\n\n"],
  },
  qc: { maxTokens: 256, temperature: 0.1, topP: 0, topK: 0, stop: [] },
} as const satisfies Record<string, NornicdbCallSite>;
export type NornicdbPath = keyof typeof NORNICDB_CALL_SITES;

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
  /** True when NornicDB's sampler is greedy here (top_p 0), so its answer is this one exactly. */
  exact?: boolean;
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
  /**
   * NornicDB's stop rule: only a single token equal to a stop string stops. Default false here (a stop string
   * anywhere in the text cuts it, the stricter check); nornicdbGenerate defaults to true.
   */
  stopPerToken?: boolean;
}

/** Sends `messages` to an already loaded model the way NornicDB does and returns its answer. */
export async function nornicdbAnswerWith(
  model: LlamaModelProcess,
  messages: readonly ChatMessage[],
  options: NornicdbOptions = {},
): Promise<NornicdbAnswer> {
  return nornicdbGenerate(
    model,
    nornicdbPrompt(messages),
    { ...NORNICDB_CALL_SITES.chat, maxTokens: options.maxTokens ?? NORNICDB_SAMPLING.maxTokens },
    { confidence: options.confidence ?? false, shareParams: NORNICDB_SAMPLING, stopPerToken: options.stopPerToken ?? false },
  );
}

/**
 * Sends an exact prompt string (ChatML for chat, raw text for the other paths) as NornicDB does on a call site:
 * tokenized with parse_special, stopped on EOG or a token equal to a stop string, greedy (exact where top_p is 0).
 */
export async function nornicdbGenerate(
  model: LlamaModelProcess,
  prompt: string,
  site: NornicdbCallSite,
  options: { confidence?: boolean; shareParams?: { topK: number; topP: number; temperature: number }; stopPerToken?: boolean } = {},
): Promise<NornicdbAnswer> {
  const promptTokens = await model.tokenize(prompt, { special: true, addSpecial: true });
  const gen = await model.generate(promptTokens, {
    maxTokens: site.maxTokens,
    stop: site.stop,
    special: true,
    stopPerToken: options.stopPerToken ?? true,
  });
  const answer: NornicdbAnswer = {
    text: gen.text,
    prompt,
    promptTokens,
    tokens: gen.tokens,
    stoppedBy: gen.stoppedBy,
    exact: site.topP === 0 || site.temperature <= 0,
  };
  if (options.confidence && gen.tokens.length > 0) {
    // The distribution before each generated token: positions promptTokens.length - 1 ... (the last one is not needed).
    const all = [...promptTokens, ...gen.tokens.slice(0, -1)];
    const { probabilities } = await model.distributions(all, { from: promptTokens.length - 1 });
    const params = options.shareParams ?? {
      topK: site.topK > 0 ? site.topK : Number.MAX_SAFE_INTEGER,
      topP: site.topP,
      temperature: site.temperature,
    };
    answer.minShare = Math.min(...gen.tokens.map((t, i) => nornicdbShare(probabilities[i]!, t, params)));
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
export function nornicdbShare(
  p: ArrayLike<number>,
  token: number,
  params: { topK: number; topP: number; temperature: number } = NORNICDB_SAMPLING,
): number {
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
