// Bad input fails before any training starts, with an error that says what is wrong and where.
import { writeTinyModel } from "@neural/testkit";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { resolveTrainConfig, type TrainConfig } from "./train-config.js";
import { train } from "./trainer.js";

const dir = mkdtempSync(path.join(tmpdir(), "bad-input-"));
const dataset = path.join(dir, "data.jsonl");
let modelDir: string;

beforeAll(async () => {
  writeFileSync(
    dataset,
    Array.from({ length: 20 }, (_, i) => JSON.stringify({ instruction: `Question ${i}`, output: `Answer ${i}` })).join("\n") + "\n",
  );
  modelDir = (await writeTinyModel(path.join(dir, "model"), { family: "llama", seed: 1, dtype: "F32" })).dir;
}, 60_000);

async function attempt(flags: Partial<TrainConfig>): Promise<{ error: Error; output: string }> {
  const output = path.join(dir, `out-${Math.random().toString(36).slice(2)}`);
  const { config } = resolveTrainConfig({
    flags: { base_model: modelDir, dataset, output_dir: output, max_length: 64, threads: 1, device: "cpu", ...flags },
  });
  const error = await train(config).then(
    () => new Error("trained"),
    (e: Error) => e,
  );
  expect(existsSync(path.join(output, "checkpoints"))).toBe(false); // nothing started
  if (process.env.SHOW_ERRORS) console.log(`${error.name}: ${error.message}`);
  return { error, output };
}

function copyModel(name: string, edit: (dir: string) => void): string {
  const copy = path.join(dir, name);
  cpSync(modelDir, copy, { recursive: true });
  edit(copy);
  return copy;
}

describe("bad input is refused before training starts", () => {
  it("a missing model directory, or one without weights", async () => {
    expect((await attempt({ base_model: path.join(dir, "nope") })).error.message).toMatch(/not a Hugging Face model id|no such directory/);
    const noWeights = copyModel("no-weights", (d) => rmSync(path.join(d, "model.safetensors")));
    expect((await attempt({ base_model: noWeights })).error.message).toMatch(/safetensors/);
  });

  it("a corrupt config.json or safetensors file", async () => {
    const badConfig = copyModel("bad-config", (d) => writeFileSync(path.join(d, "config.json"), "{ not json"));
    expect((await attempt({ base_model: badConfig })).error.message).toMatch(/config\.json.*(JSON|json)/);
    const badWeights = copyModel("bad-weights", (d) => {
      const file = path.join(d, "model.safetensors");
      writeFileSync(file, readFileSync(file).subarray(0, 100));
    });
    const { error } = await attempt({ base_model: badWeights });
    expect(error.message).toMatch(/model\.safetensors/);
    expect(error.name).toMatch(/Safetensors/);
  });

  it("a tokenizer whose vocabulary does not fit the model's embedding", async () => {
    const small = copyModel("small-vocab", (d) => {
      const config = JSON.parse(readFileSync(path.join(d, "config.json"), "utf8"));
      writeFileSync(path.join(d, "config.json"), JSON.stringify({ ...config, vocab_size: 10 }));
    });
    expect((await attempt({ base_model: small })).error.message).toMatch(
      /small-vocab\/config\.json: vocab_size: vocab_size disagrees with model\.safetensors: model\.embed_tokens\.weight is \[\d+, \d+\], the config implies \[10, \d+\]/,
    );
  });

  it("a dataset with no valid rows", async () => {
    const bad = path.join(dir, "bad.jsonl");
    writeFileSync(bad, '{"title": "no format"}\n{not json\n');
    const { error } = await attempt({ dataset: bad });
    expect(error.name).toBe("DatasetError");
    expect(error.message).toMatch(/bad\.jsonl: no usable examples: 2 invalid records \(first: .*bad\.jsonl:1: unknown record format/);
  });

  it("--max_length beyond the model's context", async () => {
    const { error } = await attempt({ max_length: 100_000 });
    expect(error.message).toMatch(/--max_length 100000 exceeds the model's context \(max_position_embeddings \d+\)/);
  });

  it("QLoRA (which runs on every provider, the CPU included) on a device this machine lacks names the device", async () => {
    const { error } = await attempt({ use_qlora: true, device: "webgpu" });
    expect(error.message).toMatch(/webgpu/i);
  });
});
