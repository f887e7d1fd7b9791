// `pnpm tokenizer-parity [family ...]`: the tokenizer parity table of docs/tokenizers.md. For each family's real
// tokenizer files, a tiny model is exported to GGUF and the same strings are tokenized by Hugging Face's
// implementation, by our trainer's tokenizer and by llama.cpp; every difference is listed with the rule behind it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REAL_TOKENIZERS, type RealTokenizerName } from "@neural/testkit";
import { parityTable, tokenizerParity, type FamilyParity } from "../packages/gguf-writer/src/tokenizer-parity.spec-helper.js";

const asked = process.argv.slice(2);
for (const name of asked)
  if (!REAL_TOKENIZERS.includes(name as RealTokenizerName)) throw new Error(`unknown family ${name}; have ${REAL_TOKENIZERS.join(", ")}`);
const names = asked.length ? (asked as RealTokenizerName[]) : REAL_TOKENIZERS;
const work = await mkdtemp(join(tmpdir(), "tokenizer-parity-"));
const results: FamilyParity[] = [];
try {
  for (const name of names) {
    const t0 = performance.now();
    results.push(await tokenizerParity(name, work));
    console.error(`${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
console.log(parityTable(results));
for (const r of results) {
  for (const d of r.differences) {
    const show = (ids: number[] | undefined) => JSON.stringify(ids);
    console.log(
      `\n${r.name}, special tokens ${d.row.special ? "parsed" : "as text"}, ${d.side} vs llama.cpp${d.rule ? ` (${d.rule})` : " (UNEXPLAINED)"}: ${JSON.stringify(d.row.text)}`,
    );
    console.log(`  ${d.side}: ${show(d.row[d.side])}\n  llama.cpp: ${show(d.row.llamacpp)}`);
  }
}
process.exitCode = results.some((r) => r.differences.some((d) => !d.rule)) ? 1 : 0;
