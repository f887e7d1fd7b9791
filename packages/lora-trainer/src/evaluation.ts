// Evaluation on the held-out split: loss, perplexity and next-token accuracy from the eval graph, and exact match of
// greedy answers generated with the KV-cache decode graph (the weights being trained fed as inputs).
import type { ChatTemplate, PreparedExample } from "@neural/dataset";
import type { TypedArray } from "@neural/graph";
import { batchFeeds, batchKey, evalBatchesOf } from "./batching.js";
import { decodeStep, generate } from "./models/decode.js";
import type { GraphRunner } from "./sessions.js";
import type { PreparedRun } from "./setup.js";
import { stepNames } from "./train-step.js";

export interface EvalSample {
  /** The last user message (for display). */
  prompt: string;
  /** The conversation up to the answer, as the model saw it. */
  messages: { role: string; content: string }[];
  expected: string;
  /** Our engine's greedy answer. */
  generated: string;
}

export interface EvalResult {
  loss: number;
  perplexity: number;
  accuracy: number;
  /** Share of generated answers equal to the expected ones (trimmed), when answers were generated. */
  exactMatch?: number;
  samples: EvalSample[];
  /** A preference objective's metrics on the held-out pairs, with TRL's names. */
  metrics?: Record<string, number>;
}

export interface EvaluateOptions {
  /** How many eval conversations get a generated answer (0: none). */
  samples: number;
  /** Rows decoded together (default: the eval batch size). */
  decodeBatch?: number;
}

/** Evaluate `weights` (the trainable tensors by name) on the run's eval split. */
export async function evaluate(
  run: PreparedRun,
  runner: GraphRunner,
  weights: Record<string, TypedArray>,
  options: EvaluateOptions,
): Promise<EvalResult> {
  const { config } = run;
  // one set of sessions at a time (each maps the weights): training's are reopened by the next step
  await runner.suspend(["step", "accumulate", "step-acc"]);
  let lossSum = 0;
  let count = 0;
  let correct = 0;
  for (const batch of evalBatchesOf(run)) {
    const out = await runner.run(batchKey("eval", batch), { ...batchFeeds(batch), ...weights });
    lossSum += Number(out[stepNames.lossSum]![0]);
    count += Number(out[stepNames.count]![0]);
    correct += Number(out[stepNames.correct]![0]);
  }
  await runner.suspend(["eval"]);
  const loss = count ? lossSum / count : Number.NaN;
  const result: EvalResult = { loss, perplexity: Math.exp(loss), accuracy: count ? correct / count : Number.NaN, samples: [] };
  if (config.eval_generate && options.samples > 0) {
    const scored = await exactMatch(run, runner, weights, options);
    await runner.suspend(["decode"]);
    if (scored) Object.assign(result, scored);
  }
  return result;
}

/** The prompt of a conversation: everything before its last answer, in the run's template. */
export function promptOf(template: ChatTemplate, e: PreparedExample): string {
  if (e.example.kind !== "chat") return "";
  const messages = e.example.messages;
  return template.prompt(messages.slice(0, messages.map((m) => m.role).lastIndexOf("assistant")));
}

/** Greedy answers to the eval prompts, compared with the expected answers (trimmed, exact). */
async function exactMatch(
  run: PreparedRun,
  runner: GraphRunner,
  weights: Record<string, TypedArray>,
  options: EvaluateOptions,
): Promise<{ exactMatch: number; samples: EvalSample[] } | undefined> {
  const allChats = run.eval.filter((e) => e.example.kind === "chat");
  const chats = allChats.slice(0, options.samples);
  if (chats.length === 0) return undefined;
  const { tokenizer, template, model, config } = run;
  const prompts = chats.map((e) => {
    const ids = tokenizer.encode(promptOf(template, e));
    return tokenizer.addBos && tokenizer.bos ? [tokenizer.bos.id, ...ids] : ids;
  });
  const batch = Math.max(1, Math.min(options.decodeBatch ?? config.eval_batch_size, allChats.length));
  // one cache size for every evaluation of the run: the longest prompt of the split (and a BOS) plus the answer
  const longest = Math.max(1, ...allChats.map((e) => tokenizer.encode(promptOf(template, e)).length + 1));
  const slots = Math.min(model.maxPositions, longest + config.max_new_tokens);
  const step = decodeStep((feeds) => runner.run({ kind: "decode", batch, seq: slots }, feeds), weights);
  const stop = [tokenizer.tokenToId(template.endOfTurn), tokenizer.eos?.id].filter((x): x is number => x !== undefined);
  const samples: EvalSample[] = [];
  let hits = 0;
  for (let start = 0; start < chats.length; start += batch) {
    const outputs = await generate(step, model, { batch, slots }, prompts.slice(start, start + batch), {
      maxNewTokens: config.max_new_tokens,
      temperature: 0,
      stopTokens: stop,
    });
    chats.slice(start, start + batch).forEach((e, i) => {
      const generated = tokenizer.decode(outputs[i]!.filter((id) => !stop.includes(id))).trim();
      const messages = e.example.kind === "chat" ? e.example.messages : [];
      const expected = messages
        .filter((m) => m.role === "assistant")
        .at(-1)!
        .content.trim();
      if (generated === expected) hits++;
      samples.push({
        prompt: messages.filter((m) => m.role === "user").at(-1)?.content ?? "",
        messages: messages.slice(0, messages.map((m) => m.role).lastIndexOf("assistant")).map(({ role, content }) => ({ role, content })),
        expected,
        generated,
      });
    });
  }
  return { exactMatch: hits / chats.length, samples };
}
