import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTinyLoraAdapter, writeTinyModel } from "@neural/testkit";
import { afterAll, describe, expect, it } from "vitest";
import type { Io } from "../command.js";
import { runCli } from "../run.js";
import { commands } from "./index.js";

const root = await mkdtemp(join(tmpdir(), "cli-export-"));
afterAll(() => rm(root, { recursive: true, force: true }));

function capture(): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: "",
    stderr: "",
    isTTY: false,
    out: (t: string) => {
      io.stdout += t + "\n";
    },
    err: (t: string) => {
      io.stderr += t + "\n";
    },
    status: () => {},
  };
  return io;
}

describe("neural export / inspect", () => {
  it("exports Q4_K_M by default, verifies it in llama.cpp, and inspect shows it", async () => {
    const m = await writeTinyModel(join(root, "qwen"), { family: "qwen2", seed: 2 });
    const out = join(root, "qwen.gguf");
    const io = capture();
    const code = await runCli(["export", "--model_dir", m.dir, "--output", out, "--verify", "--json"], commands, io);
    expect(code, io.stderr).toBe(0);
    const summary = JSON.parse(io.stdout);
    expect(summary.quantization).toBe("Q4_K_M");
    expect(summary.types.Q4_K).toBeGreaterThan(0);
    expect(summary.verify.ok).toBe(true);
    expect(summary.verify.tokens).toBeGreaterThan(0);
    expect((await stat(out)).size).toBe(summary.bytes);

    const io2 = capture();
    expect(await runCli(["inspect", out, "--json"], commands, io2)).toBe(0);
    const info = JSON.parse(io2.stdout);
    expect(info.metadata["general.file_type"]).toEqual({ type: "U32", value: 15, name: "MOSTLY_Q4_K_M" });
    expect(info.metadata["tokenizer.ggml.tokens"].value.length).toBe(m.config.vocab_size);
    expect(info.tensors.find((t: { name: string }) => t.name === "token_embd.weight").type).toBe("Q6_K");
    const io3 = capture();
    expect(await runCli(["inspect", out], commands, io3)).toBe(0);
    expect(io3.stdout).toMatch(/blk\.0\.attn_q\.weight\s+Q4_K\s+\[256, 256\]/);
  });

  it("--no_quantize writes F16; kebab-case flags work", async () => {
    const m = await writeTinyModel(join(root, "llama"), { family: "llama", seed: 2 });
    const io = capture();
    expect(await runCli(["export", "--model-dir", m.dir, "--output", join(root, "l.gguf"), "--no-quantize"], commands, io), io.stderr).toBe(
      0,
    );
    expect(io.stdout).toMatch(/F16/);
  });

  it("usage errors and typed errors give exit codes 2 and 1", async () => {
    const io = capture();
    expect(await runCli(["export", "--output", "x.gguf"], commands, io)).toBe(2);
    expect(await runCli(["export", "--model_dir", root, "--output", "x.gguf", "--quantization", "Q2_K"], commands, io)).toBe(2);
    expect(io.stderr).toMatch(/Q2_K is not supported/);
    expect(await runCli(["export", "--model_dir", join(root, "nope"), "--output", join(root, "x.gguf")], commands, io)).toBe(1);
    const bad = join(root, "bad.gguf");
    await import("node:fs/promises").then((fs) => fs.writeFile(bad, "not a gguf at all, just text"));
    const io2 = capture();
    expect(await runCli(["inspect", bad], commands, io2)).toBe(1);
    expect(io2.stderr).toMatch(/not a GGUF/);
  });

  it("an adapter directory: merged into its base and exported, or a GGUF adapter with --lora_adapter", async () => {
    const m = await writeTinyModel(join(root, "base"), { family: "llama", seed: 4 });
    const a = await writeTinyLoraAdapter(join(root, "adapter"), m, {});
    const io = capture();
    expect(
      await runCli(
        ["export", "--model_dir", a.dir, "--base_model", m.dir, "--quantization", "F32", "--output", join(root, "merged.gguf")],
        commands,
        io,
      ),
      io.stderr,
    ).toBe(0);
    expect(io.stderr).toMatch(/merging the LoRA adapter/);
    const merged = capture();
    await runCli(["inspect", join(root, "merged.gguf"), "--json"], commands, merged);
    expect(JSON.parse(merged.stdout).metadata["general.type"]?.value ?? "model").toBe("model");
    const io2 = capture();
    expect(
      await runCli(
        ["export", "--model_dir", a.dir, "--base_model", m.dir, "--lora_adapter", "--output", join(root, "a.gguf")],
        commands,
        io2,
      ),
      io2.stderr,
    ).toBe(0);
    const io3 = capture();
    await runCli(["inspect", join(root, "a.gguf"), "--json"], commands, io3);
    expect(JSON.parse(io3.stdout).metadata["general.type"].value).toBe("adapter");
  });
});
