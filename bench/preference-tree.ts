// `npx tsx --conditions=source bench/preference-tree.ts HEIMDALL.jsonl [--time]`: what one tree per pair saves. The
// rows are `neural generate heimdall --format chat`'s; each row becomes a pair as `neural pairs --verifier heimdall`
// writes one (its prompt; chosen its answer, rejected the answer of the next row of its category, so both answers
// have the path's real lengths), tokenized with Qwen2.5's tokenizer as training reads it (raw paths as raw text).
// Printed per category: prompt tokens, the tokens of the two sequences apart (the layout before) and of the tree
// (prompt once), and the share saved. With --time: seconds per step graph run (forward, loss, gradients) of a small
// Qwen2-shaped model, LoRA, on micro-batches of the same pairs, in the layout before (2P rows, logits at every
// position) against the trees (P rows, logits at the answer slots), in the same process; peak RSS last. With --long
// also the chat_action path (~1,800-token prompts), 2 pairs per micro-batch.
import { preparePreferenceDataset, readRecordsFromFile, createTokenizer, type EncodedExample } from "@neural/dataset";
import { grad, Graph, reshape, type TypedArray } from "@neural/graph";
import { createSession, saveGraph, toOrt } from "@neural/graph/node";
import { buildForward } from "../packages/lora-trainer/src/models/transformer.js";
import { graphWeights } from "../packages/lora-trainer/src/models/weights.js";
import { preferenceNames, preferenceObjective, sequenceLogps, type PreferenceSpec } from "../packages/lora-trainer/src/preference.js";
import { objectiveFeeds, pairTree, treeBatch } from "../packages/lora-trainer/src/preference-run.js";
import { randomModel, tinyConfig, uniform } from "../packages/lora-trainer/src/test-fixtures.js";
import { buildStepGraph, stepNames, trainableParams, type LoraSpec } from "../packages/lora-trainer/src/train-step.js";
import { realTokenizer } from "@neural/testkit";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const file = process.argv[2];
if (!file) throw new Error("usage: bench/preference-tree.ts HEIMDALL.jsonl [--time]");
const time = process.argv.includes("--time");
const long = process.argv.includes("--long");

interface Row {
  category: string;
  path: string;
  messages?: { role: string; content: string }[];
  text?: string;
  prompt_end?: number;
}
const rows: Row[] = [];
for await (const e of readRecordsFromFile(file)) if (!e.issue) rows.push(e.value as Row);
const byCategory = new Map<string, Row[]>();
for (const r of rows) byCategory.set(r.category, [...(byCategory.get(r.category) ?? []), r]);
const answerOf = (r: Row) => (r.messages ? r.messages.at(-1)!.content : r.text!.slice(r.prompt_end));
const pairs: { category: string; line: string }[] = [];
for (const [category, list] of byCategory) {
  list.forEach((r, i) => {
    const other = answerOf(list[(i + 1) % list.length]!);
    const chosen = answerOf(r);
    if (other === chosen) return;
    const prompt = r.messages ? r.messages.slice(0, -1) : r.text!.slice(0, r.prompt_end);
    pairs.push({ category, line: JSON.stringify({ prompt, chosen, rejected: other, ...(r.messages ? {} : { raw: true }) }) });
  });
}
const dir = mkdtempSync(path.join(tmpdir(), "preference-tree-"));
const pairsFile = path.join(dir, "pairs.jsonl");
writeFileSync(pairsFile, pairs.map((p) => p.line + "\n").join(""));
const qwen = realTokenizer("qwen2.5");
const tokenizer = createTokenizer({ tokenizer: qwen.tokenizer, config: qwen.config });
const prepared = await preparePreferenceDataset(readRecordsFromFile(pairsFile), pairsFile, {
  tokenizer,
  template: "chatml",
  maxLength: 8192,
  validationSplit: 0,
});
const categoryOf = new Map(pairs.map((p, i) => [i + 1, p.category]));
const stats = new Map<string, { pairs: number; prompt: number; apart: number; tree: number }>();
const all = { pairs: 0, prompt: 0, apart: 0, tree: 0 };
const trees: { category: string; a: EncodedExample; b: EncodedExample; length: number }[] = [];
for (const row of prepared.train) {
  if (row.kind !== "pair") continue;
  const tree = pairTree(row.chosen, row.rejected);
  const firstLearned = row.chosen.labels.findIndex((l) => l !== -100);
  const category = categoryOf.get(row.line)!;
  const s = stats.get(category) ?? { pairs: 0, prompt: 0, apart: 0, tree: 0 };
  for (const t of [s, all]) {
    t.pairs++;
    t.prompt += firstLearned;
    t.apart += row.chosen.inputIds.length + row.rejected.inputIds.length;
    t.tree += tree.inputIds.length;
  }
  stats.set(category, s);
  trees.push({ category, a: row.chosen, b: row.rejected, length: tree.inputIds.length });
}
console.log(`${file}: ${all.pairs} pairs (Qwen2.5 tokenizer, raw paths as raw text)`);
console.log("category        pairs  prompt  apart   tree   saved/pair  saved");
for (const [name, s] of [...stats, ["all", all] as const]) {
  const f = (x: number) => (x / s.pairs).toFixed(0).padStart(6);
  console.log(
    `${name.padEnd(14)} ${String(s.pairs).padStart(6)} ${f(s.prompt)} ${f(s.apart)} ${f(s.tree)} ${f(s.apart - s.tree).padStart(11)}  ${((100 * (s.apart - s.tree)) / s.apart).toFixed(1)}%`,
  );
}

if (time) {
  // a small Qwen2-shaped model with a trimmed vocabulary (token ids taken modulo it): the shapes, not the words, matter
  const V = 4096;
  const config = tinyConfig("Qwen2ForCausalLM", {
    hidden_size: 128,
    intermediate_size: 384,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: V,
    max_position_embeddings: 4096,
  });
  const lora: LoraSpec = { rank: 8, alpha: 16, rsLora: false, targets: ["q_proj", "k_proj", "v_proj", "o_proj"], dropout: 0 };
  const spec: PreferenceSpec = {
    method: "dpo",
    beta: 0.1,
    lossType: "sigmoid",
    rpoAlpha: 0,
    simpoGamma: 0.5,
    cpoAlpha: 0,
    desirableWeight: 1,
    undesirableWeight: 1,
  };
  const { source } = randomModel(config, 1);
  const PAIRS = 4;
  const r = uniform(2);
  const weights = Object.fromEntries(
    trainableParams(config, source, lora).map((p) => [
      p.name,
      Float32Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, () => r() * 0.1),
    ]),
  );
  const mod = (e: EncodedExample): EncodedExample => ({
    inputIds: e.inputIds.map((t) => t % V),
    labels: e.labels.map((t) => (t < 0 ? t : t % V)),
  });
  const open = async (g: Graph) => {
    const { session } = await createSession(await saveGraph(g, mkdtempSync(path.join(dir, "g-"))), { intraOpNumThreads: 2 });
    return async (feeds: Record<string, TypedArray>) => {
      const ort = Object.fromEntries(g.inputs.map((t) => [t.name, toOrt(t.dtype, t.shape, feeds[t.name]!)]));
      return session.run(ort);
    };
  };
  const common = (rows: number) => ({
    [preferenceNames.refLogps]: new Float32Array(2 * rows),
    [preferenceNames.pairWeight]: new Float32Array(rows).fill(1 / rows),
    [stepNames.invCount]: Float32Array.of(0.01),
  });
  console.log(
    `\nstep time, ${PAIRS} pairs per micro-batch (--long: 2), DPO, LoRA r 8 on a 4-layer 128-wide Qwen2 shape (vocabulary ${V}), 2 threads:`,
  );
  console.log("category        seq apart  seq tree   s/step apart   s/step tree   ratio");
  for (const category of ["autocomplete", "synthesis", "qc", ...(long ? ["chat_action"] : [])]) {
    const P = category === "chat_action" ? 2 : PAIRS;
    const cap = category === "chat_action" ? 2048 : 1024;
    const chosen = trees.filter((t) => t.category === category && t.a.inputIds.length <= cap && t.b.inputIds.length <= cap).slice(0, P);
    if (chosen.length < P) continue;
    const round = (n: number) => Math.ceil(n / 64) * 64;
    const apartSeq = round(Math.max(...chosen.flatMap((t) => [t.a.inputIds.length, t.b.inputIds.length])));
    const treeSeq = round(Math.max(...chosen.map((t) => t.length)));
    const batch = treeBatch(
      chosen.map((t) => pairTree(mod(t.a), mod(t.b))),
      {
        pairs: P,
        buckets: [treeSeq],
        slotsPerSequence: Math.ceil(Math.max(...chosen.flatMap((t) => pairTree(t.a, t.b).slots.map((s) => s.at.length))) / 8) * 8,
        padId: 0,
      },
    );
    const treeGraph = buildStepGraph({
      config,
      source,
      batch: P,
      seq: treeSeq,
      answers: batch.answers,
      lora,
      kind: "step",
      preference: spec,
    }).graph;
    const treeRun = await open(treeGraph);
    const treeFeeds = {
      ...weights,
      ...common(P),
      [stepNames.inputIds]: BigInt64Array.from(batch.inputIds, BigInt),
      [stepNames.positionIds]: BigInt64Array.from(batch.positionIds, BigInt),
      [stepNames.segmentIds]: BigInt64Array.from(batch.segmentIds, BigInt),
      ...objectiveFeeds(spec, batch, [batch]),
    };
    // before: 2P rows, chosen then rejected, logits at every position (what preferenceLoss ran on)
    const rows = 2 * P;
    const g = new Graph({ name: "apart", dims: { batch: rows, seq: apartSeq } });
    const params = trainableParams(config, source, lora);
    const trainable = new Map(params.map((p) => [p.name, g.input(p.name, "float32", p.shape)]));
    const input = (name: string) => g.input(name, "int64", [rows, apartSeq]);
    const { logits } = buildForward(
      g,
      config,
      graphWeights(g, source),
      { inputIds: input(stepNames.inputIds), positionIds: input(stepNames.positionIds), segmentIds: input(stepNames.segmentIds) },
      {
        lora: {
          targets: lora.targets,
          rank: lora.rank,
          alpha: lora.alpha,
          weights: (m: string) => ({ a: trainable.get(`${m}.lora_A`)!, b: trainable.get(`${m}.lora_B`)! }),
        },
      },
    );
    const { sum, count } = sequenceLogps(reshape(logits!, [-1, V]), reshape(input(stepNames.targets), [-1]), rows);
    const { loss } = preferenceObjective(spec, {
      sum,
      count,
      ref: g.input(preferenceNames.refLogps, "float32", [rows]),
      pairWeight: g.input(preferenceNames.pairWeight, "float32", [P]),
      invCount: g.input(stepNames.invCount, "float32", []),
    });
    g.output(stepNames.loss, loss);
    grad(
      loss,
      params.map((p) => trainable.get(p.name)!),
    ).forEach((d, i) => g.output(stepNames.grad(params[i]!.name), d!));
    const apartRun = await open(g);
    const apart: Record<string, BigInt64Array> = {
      [stepNames.inputIds]: new BigInt64Array(rows * apartSeq),
      [stepNames.positionIds]: new BigInt64Array(rows * apartSeq),
      [stepNames.segmentIds]: new BigInt64Array(rows * apartSeq),
      [stepNames.targets]: new BigInt64Array(rows * apartSeq).fill(-100n),
    };
    chosen.forEach((t, k) =>
      [mod(t.a), mod(t.b)].forEach((s, side) => {
        const offset = (side * P + k) * apartSeq;
        for (let i = 0; i < s.inputIds.length; i++) {
          apart[stepNames.inputIds]![offset + i] = BigInt(s.inputIds[i]!);
          apart[stepNames.positionIds]![offset + i] = BigInt(i);
          apart[stepNames.segmentIds]![offset + i] = 1n;
          if (i > 0) apart[stepNames.targets]![offset + i - 1] = BigInt(s.labels[i]!);
        }
      }),
    );
    const apartFeeds = { ...weights, ...common(P), ...apart };
    const seconds = async (run: (f: Record<string, TypedArray>) => Promise<unknown>, feeds: Record<string, TypedArray>) => {
      await run(feeds); // warm-up
      const times: number[] = [];
      for (let k = 0; k < 3; k++) {
        const start = performance.now();
        await run(feeds);
        times.push((performance.now() - start) / 1000);
      }
      return times.sort((a, b) => a - b)[1]!;
    };
    // the losses agree (float32), so the two graphs compute the same step
    const lossApart = Number(((await apartRun(apartFeeds)) as Record<string, { data: Float32Array }>)[stepNames.loss]!.data[0]);
    const lossTree = Number(((await treeRun(treeFeeds)) as Record<string, { data: Float32Array }>)[stepNames.loss]!.data[0]);
    if (Math.abs(lossApart - lossTree) > 1e-4 * Math.abs(lossApart)) throw new Error(`losses differ: ${lossApart} vs ${lossTree}`);
    const a = await seconds(apartRun, apartFeeds);
    const t = await seconds(treeRun, treeFeeds);
    console.log(
      `${category.padEnd(14)} ${String(apartSeq).padStart(9)} ${String(treeSeq).padStart(9)} ${a.toFixed(3).padStart(14)} ${t.toFixed(3).padStart(13)}   ${(a / t).toFixed(2)}×`,
    );
  }
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
}
