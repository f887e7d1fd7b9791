// Downloads from a local stand-in for the Hugging Face hub, as a user sees them: one live line per file on a
// terminal (run under a pseudo-terminal with script(1)), a few plain lines when piped; gated models name themselves
// and the ways to give a token; the dataset is checked before any download starts.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startLocalHub, type LocalHub } from "@neural/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { neural } from "./testing.js";

const repoRoot = resolve(import.meta.dirname, "../../..");
const tsx = join(repoRoot, "node_modules", ".bin", "tsx");
const MiB = 1 << 20;
let hub: LocalHub;
let root: string;
const saved = { ...process.env };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "cli-download-"));
  const files = {
    "config.json": Buffer.from('{"architectures":["LlamaForCausalLM"]}'),
    "tokenizer.json": Buffer.from("{}"),
    "model.safetensors": Buffer.alloc(40 * MiB, 3),
  };
  hub = await startLocalHub({
    "org/big": { files, throttle: { chunkBytes: MiB, delayMs: 20 } },
    "org/gated": { files: { "config.json": Buffer.from("{}"), "model.safetensors": Buffer.alloc(100, 1) }, gatedToken: "hf_good" },
  });
});
afterAll(async () => {
  process.env = saved;
  await hub.close();
  await rm(root, { recursive: true, force: true });
});

/** Runs `neural ...` from the sources in a child process, on a pseudo-terminal or with piped output. */
function run(args: string[], terminal: boolean, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const command = [tsx, "--conditions=source", join(repoRoot, "apps/cli/src/main.ts"), ...args];
  const quoted = command.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const child = terminal
    ? spawn("script", ["-qec", quoted, "/dev/null"], { cwd: repoRoot, env: { ...process.env, ...env, TERM: "xterm" } })
    : spawn(command[0]!, command.slice(1), { cwd: repoRoot, env: { ...process.env, ...env } });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  return new Promise((done) => child.on("close", (code) => done({ code, output })));
}

const hubEnv = async () => ({
  HF_ENDPOINT: hub.url,
  HF_HUB_CACHE: await mkdtemp(join(root, "cache-")),
  HF_HOME: await mkdtemp(join(root, "home-")),
  HF_TOKEN: "",
  HUGGING_FACE_HUB_TOKEN: "",
});

describe("neural download", () => {
  it("draws one live line per file on a terminal: a 40 MiB file is one line, redrawn with size, speed and ETA", async () => {
    const { code, output } = await run(["download", "org/big"], true, await hubEnv());
    expect(code, output).toBe(0);
    const lines = output.split("\n");
    expect(lines.filter((l) => l.includes("model.safetensors"))).toHaveLength(1);
    const redraws = output.split("\r\x1b[2K").filter((s) => s.startsWith("model.safetensors ["));
    expect(redraws.length).toBeGreaterThan(0);
    expect(redraws.at(-1)).toMatch(/^model\.safetensors \[[#.]{20}\] [\d.]+ MiB \/ 40\.0 MiB [\d.]+ (KiB|MiB|GiB)\/s ETA \d+s/);
    expect(output).toMatch(/downloaded model\.safetensors: 40\.0 MiB in [\d.]+ s \([\d.]+ (KiB|MiB|GiB)\/s\)/);
  });

  it("prints a few plain lines when piped", async () => {
    const { code, output } = await run(["download", "org/big"], false, await hubEnv());
    expect(code, output).toBe(0);
    const lines = output.trim().split("\n");
    expect(lines.length).toBeLessThanOrEqual(5);
    expect(output).not.toContain("\r");
    expect(lines.filter((l) => l.includes("model.safetensors"))).toEqual([
      expect.stringMatching(/^downloaded model\.safetensors: 40\.0 MiB in /),
    ]);
  });

  it("a gated model: without a token the error names it and every way to give a token; --hf_token downloads it", async () => {
    Object.assign(process.env, await hubEnv());
    const refused = await neural("download", "org/gated");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^neural download: org\/gated needs a Hugging Face token \(HTTP 401: gated or private\)\. Accept its conditions at http:\/\/127\.0\.0\.1:\d+\/org\/gated/,
    );
    expect(refused.stderr).toMatch(/HF_TOKEN=hf_\.\.\. or run `hf auth login` \(it writes .*token\), or pass --hf_token\n$/);
    const ok = await neural("download", "org/gated", "--hf_token", "hf_good");
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/org\/gated: .* \(downloaded\)/);
  });
});

describe("neural train", () => {
  it("reads and checks the dataset before it downloads anything", async () => {
    Object.assign(process.env, await hubEnv());
    const before = hub.requests.length;
    const missing = await neural(
      "train",
      "--base_model",
      "org/big",
      "--dataset",
      join(root, "nope.jsonl"),
      "--output_dir",
      join(root, "out"),
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.jsonl.*file not found/);
    const bad = join(root, "bad.jsonl");
    await writeFile(bad, '{"instruction": 1}\nnot json\n');
    const unusable = await neural("train", "--base_model", "org/big", "--dataset", bad, "--output_dir", join(root, "out"));
    expect(unusable.code).toBe(1);
    expect(unusable.stderr).toMatch(/bad\.jsonl: no usable record in 2/);
    expect(unusable.stderr).toMatch(/bad\.jsonl:2:2: invalid JSON/);
    expect(hub.requests.length).toBe(before);
  });
});
