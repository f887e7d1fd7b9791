// An output directory is one run's: a second run into it is refused while the first lives (before: both ran, one
// deleted the other's graphs, checkpoints from two seeds interleaved, metrics.jsonl mixed); a dead run's lock and
// temporary files are cleared; a torn last line of metrics.jsonl is dropped on resume (before: "Unterminated string
// in JSON", naming no file) and a run resumed with no checkpoint does not repeat its metrics.
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkpointsDir, listCheckpoints } from "./checkpoint.js";
import { LOCK_FILE, OutputDirLockedError } from "./outputs.js";
import { tinyTrainingRun } from "@neural/testkit";
import { resolveTrainConfig, type TrainConfig } from "./train-config.js";
import { train } from "./trainer.js";

const { dir, flags } = tinyTrainingRun("output-dir", { rows: 40 });

const tiny = (overrides: Partial<TrainConfig>) =>
  resolveTrainConfig({
    flags: {
      ...flags,
      save_steps: 2,
      max_steps: 4,
      validation_split: 0,
      ...overrides,
    },
  }).config;

/** The pid of a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ["-e", "process.pid"]).pid!;
const trainSteps = (output: string) =>
  readFileSync(path.join(output, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { type: string; step: number })
    .filter((r) => r.type === "train")
    .map((r) => r.step);

describe("an output directory", { timeout: 120_000 }, () => {
  it("is locked: of two concurrent runs into it, one trains and the other is refused, naming the holder", async () => {
    const output = path.join(dir, "shared");
    const [a, b] = await Promise.allSettled([train(tiny({ output_dir: output, seed: 1 })), train(tiny({ output_dir: output, seed: 2 }))]);
    const refused = [a, b].filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    expect(refused).toHaveLength(1);
    expect(refused[0]!.reason).toBeInstanceOf(OutputDirLockedError);
    expect((refused[0]!.reason as Error).message).toBe(
      `${output} is in use by another run (pid ${process.pid}, ${path.join(output, LOCK_FILE)}); wait for it to finish or choose another --output_dir (if no such run exists, delete ${path.join(output, LOCK_FILE)})`,
    );
    expect([a, b].filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(trainSteps(output)).toEqual([1, 2, 3, 4]);
    expect(existsSync(path.join(output, LOCK_FILE))).toBe(false);
  });

  it("refuses a folder whose lock belongs to another live process", async () => {
    const output = path.join(dir, "other");
    mkdirSync(output, { recursive: true });
    const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
    try {
      writeFileSync(path.join(output, LOCK_FILE), JSON.stringify({ pid: other.pid, host: hostname() }));
      await expect(train(tiny({ output_dir: output }))).rejects.toThrow(`${output} is in use by another run (pid ${other.pid}, `);
      expect(existsSync(path.join(output, "metrics.jsonl"))).toBe(false);
    } finally {
      other.kill();
    }
  });

  it("takes over a dead run's lock and removes its temporary files, not a live one's", async () => {
    const output = path.join(dir, "stale");
    const dead = deadPid();
    mkdirSync(checkpointsDir(output), { recursive: true });
    writeFileSync(path.join(output, LOCK_FILE), JSON.stringify({ pid: dead }));
    const leftovers = [
      `.model.safetensors.${dead}.abc123.tmp`,
      `metrics.jsonl.tmp-${dead}`,
      `checkpoints/step-00000009.tmp-${dead}-1700000000000`,
    ];
    for (const f of leftovers) writeFileSync(path.join(output, f), "x".repeat(1000));
    const live = `.model.safetensors.1.abc123.tmp`; // pid 1 is alive
    writeFileSync(path.join(output, live), "x");
    const result = await train(tiny({ output_dir: output }));
    expect(result.steps).toBe(4);
    for (const f of leftovers) expect(existsSync(path.join(output, f)), f).toBe(false);
    expect(existsSync(path.join(output, live))).toBe(true);
    expect(existsSync(path.join(output, LOCK_FILE))).toBe(false);
  });

  it("resumes past a torn last metrics line, cutting the lines after the checkpoint", async () => {
    const output = path.join(dir, "torn");
    await train(tiny({ output_dir: output }));
    // a crash after step 4's metrics but before its checkpoint, in the middle of writing a line
    rmSync((await listCheckpoints(output)).at(-1)!.dir, { recursive: true });
    appendFileSync(path.join(output, "metrics.jsonl"), '{"type":"train","st');
    const resumed = await train(tiny({ output_dir: output, resume: "auto" }));
    expect(resumed.steps).toBe(4);
    expect(trainSteps(output)).toEqual([1, 2, 3, 4]);
  });

  it("a broken line before the last is an error naming the file and line", async () => {
    const output = path.join(dir, "broken");
    await train(tiny({ output_dir: output }));
    const file = path.join(output, "metrics.jsonl");
    const lines = readFileSync(file, "utf8").split("\n");
    lines[1] = "{not json";
    writeFileSync(file, lines.join("\n"));
    await expect(train(tiny({ output_dir: output, resume: "auto" }))).rejects.toThrow(
      `${file}:2: not a JSON line; remove the line (or the file) and resume again`,
    );
  });

  it("a run resumed without a checkpoint starts over without repeating its metrics", async () => {
    const output = path.join(dir, "no-checkpoint");
    await train(tiny({ output_dir: output }));
    rmSync(checkpointsDir(output), { recursive: true });
    await train(tiny({ output_dir: output, resume: "auto" }));
    expect(trainSteps(output)).toEqual([1, 2, 3, 4]);
    expect(readdirSync(output).filter((f) => f.includes(".tmp"))).toEqual([]);
  });
});
