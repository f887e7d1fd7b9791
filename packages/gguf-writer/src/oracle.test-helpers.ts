// Test helpers (not exported): run a GGUF in llama.cpp (child process) and compare it with the float64 forward pass.
import { LlamaModelProcess, type LoadOptions } from "@neural/llama";
import { argmax, klDivergence, referenceGreedy, referenceLogits, softmax, type ReferenceModel } from "@neural/testkit";

export interface OracleReport {
  /** Max over positions of KL(reference ‖ llama.cpp). */
  maxKl: number;
  /** KL at each position. */
  kls: number[];
  /** Positions where llama.cpp's argmax differs from the reference's. */
  argmaxMismatches: number[];
  greedyLlama: number[];
  greedyReference: number[];
}

/** Loads `gguf` in llama.cpp, evaluates `tokens`, and compares distributions and a greedy continuation with `ref`. */
export async function compareWithReference(gguf: string, ref: ReferenceModel, tokens: readonly number[], options: { greedyTokens?: number; load?: LoadOptions; model?: LlamaModelProcess } = {}): Promise<OracleReport> {
  const own = !options.model;
  const model = options.model ?? (await LlamaModelProcess.load(gguf, options.load));
  try {
    const dist = await model.distributions(tokens);
    const logits = referenceLogits(ref, tokens);
    const kls: number[] = [];
    const argmaxMismatches: number[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const p = softmax(logits[i]!);
      kls.push(klDivergence(p, dist.probabilities[i]!));
      if (argmax(p) !== argmax(dist.probabilities[i]!)) argmaxMismatches.push(i);
    }
    const n = options.greedyTokens ?? 8;
    const greedyLlama = n > 0 ? (await model.generate(tokens, { maxTokens: n })).tokens : [];
    const greedyReference = n > 0 ? referenceGreedy(ref, tokens, Math.max(greedyLlama.length, 1)) : [];
    return { maxKl: Math.max(...kls), kls, argmaxMismatches, greedyLlama, greedyReference };
  } finally {
    if (own) await model.close();
  }
}
