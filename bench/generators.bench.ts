// Dataset generators: rows/s of each generator writing a JSONL file, against an anchor measured in the same run (the
// same rows pushed through the same JSONL writer, i.e. serialization + I/O only), the unique-row capacity of each,
// and the cost of the Cypher check per query (syntax level vs Neo4j's full linter).
//   pnpm bench generators [-- --count 10000 --runs 3]
import { mkdirSync, rmSync } from "node:fs";
import os from "node:os";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { checkCypher } from "@neural/cypher";
import {
  collectRows,
  createJsonlWriter,
  planGeneration,
  runGenerator,
  type CategorySpace,
  type GeneratorDefinition,
  type OptionValues,
} from "@neural/generators";
import { codingGenerator, codingSpaces } from "../packages/generator-coding/src/index.js";
import { cypherGenerator, cypherSpaces } from "../packages/generator-cypher/src/index.js";
import { mtgGenerator, mtgSpaces } from "../packages/generator-mtg/src/index.js";
import { repoPatternSpaces, repoPatternsGenerator } from "../packages/generator-repo-patterns/src/index.js";
import { tlpGenerator, tlpSpaces } from "../packages/generator-tlp/src/index.js";
import { machine, writeSection } from "./results.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const out = path.join(here, "out", "generators");
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const COUNT = arg("count", 10_000);
const RUNS = arg("runs", 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Case {
  definition: GeneratorDefinition;
  options: OptionValues;
  spaces: () => Promise<CategorySpace[]> | CategorySpace[];
}

const cases: Case[] = [
  { definition: cypherGenerator, options: {}, spaces: () => cypherSpaces() },
  { definition: repoPatternsGenerator, options: { repo: root }, spaces: async () => (await repoPatternSpaces({ repo: root })).spaces },
  { definition: mtgGenerator, options: {}, spaces: () => mtgSpaces() },
  { definition: codingGenerator, options: {}, spaces: () => codingSpaces() },
  { definition: tlpGenerator, options: {}, spaces: () => tlpSpaces() },
];

mkdirSync(out, { recursive: true });
const rows: string[] = [];
const capacities: string[] = [];
for (const c of cases) {
  const plan = planGeneration(c.definition.name, await c.spaces(), { count: 0 });
  const count = Math.min(COUNT, plan.maxCount);
  const file = path.join(out, `${c.definition.name}.jsonl`);
  // Warm up (grammars, parser caches), then timed runs.
  await runGenerator(c.definition, { count: Math.min(200, count), seed: "warm", output: file, generatorOptions: c.options });
  const gen: number[] = [];
  const anchor: number[] = [];
  let bytes = 0;
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    const summary = await runGenerator(c.definition, { count, seed: 42 + r, output: file, generatorOptions: c.options });
    gen.push(count / ((performance.now() - t0) / 1000));
    bytes = summary.bytes;
    // Anchor: the same rows, already in memory, through the same writer.
    const { rows: same } = await collectRows(c.definition, { count, seed: 42 + r, generatorOptions: c.options });
    const t1 = performance.now();
    const writer = await createJsonlWriter(file);
    for (const row of same) await writer.write(row);
    await writer.close();
    anchor.push(count / ((performance.now() - t1) / 1000));
  }
  const g = median(gen);
  const a = median(anchor);
  console.log(
    `${c.definition.name}: ${Math.round(g)} rows/s (anchor ${Math.round(a)} rows/s, ratio ${(g / a).toFixed(3)}), ${count} rows, ${(bytes / count).toFixed(0)} B/row`,
  );
  rows.push(
    `| ${c.definition.name} | ${count.toLocaleString("en-US")} | ${Math.round(g).toLocaleString("en-US")} | ${Math.round(a).toLocaleString("en-US")} | ${(g / a).toFixed(3)} | ${Math.round(bytes / count)} |`,
  );
  capacities.push(
    `| ${c.definition.name} | ${plan.maxCount.toLocaleString("en-US")} | ${plan.categories.map((k) => `${k.category} ${k.capacity.toLocaleString("en-US")}`).join(", ")} |`,
  );
}

// Neo4j's linter, as @neural/cypher depends on it (the bench package does not).
const languageSupport = createRequire(path.join(root, "packages/cypher/package.json")).resolve("@neo4j-cypher/language-support");
const { lintCypherQuery } = (await import(pathToFileURL(languageSupport).href)) as { lintCypherQuery(q: string, schema: object): unknown };

// The Cypher check: syntax level (what the generator and `neural validate --check-cypher` run) vs the full linter.
const queries = (await collectRows(cypherGenerator, { count: 300, seed: "lint" })).rows.map((r) => (r as { output: string }).output);
checkCypher(queries[0]!);
let t = performance.now();
for (const q of queries) checkCypher(q);
const syntaxMs = (performance.now() - t) / queries.length;
lintCypherQuery(queries[1]!, {});
t = performance.now();
for (const q of queries.slice(0, 60)) lintCypherQuery(q, {});
const lintMs = (performance.now() - t) / 60;
console.log(
  `checkCypher ${syntaxMs.toFixed(2)} ms/query; lintCypherQuery ${lintMs.toFixed(1)} ms/query (ratio ${(lintMs / syntaxMs).toFixed(0)}x)`,
);
rmSync(out, { recursive: true, force: true });

writeSection(
  "Generators",
  `Machine: ${machine()}, load average ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(
      " ",
    )} at the end (other work shares the 2 cores). Command: \`pnpm bench generators -- --count ${COUNT} --runs ${RUNS}\` (median of ${RUNS} runs, seeds 42..${41 + RUNS}).

Throughput of each generator writing a JSONL file (instruction rows). Anchor: the same rows, already in memory,
through the same streaming writer (serialization and I/O only), in the same run; the ratio is the share of the
anchor's speed the generator reaches, i.e. how much the content model, the checks (Neo4j's parser for every Cypher
query, tree-sitter for every code answer and every mined file) and deduplication cost on top of writing.

| generator | rows | rows/s | anchor rows/s | ratio | bytes/row |
|---|---|---|---|---|---|
${rows.join("\n")}

repo-patterns mines this repository (all its rows; parsing every file with tree-sitter is included in each run).

Unique rows available at the default distribution (the largest \`--count\` each accepts; \`--capacity\` prints it):

| generator | max --count | candidates per category |
|---|---|---|
${capacities.join("\n")}

The Cypher check per query, on 300 generated queries: \`checkCypher\` (Neo4j's grammar, SLL fast path) ${syntaxMs.toFixed(2)} ms;
\`lintCypherQuery(q, {})\` (grammar + Neo4j's semantic analysis) ${lintMs.toFixed(1)} ms: ${(lintMs / syntaxMs).toFixed(0)}× slower.
`,
);
