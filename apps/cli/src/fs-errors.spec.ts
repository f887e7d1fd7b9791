// Ordinary file-system errors are one line naming the path and what to do, exit 1, with no temporary file left.
// Before, each printed a Node stack without the user's path (an output that is a folder also left its temp file).
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { writeTinyModel, type TinyModel } from "@neural/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileSystemMessage } from "./fs-errors.js";
import { neural } from "./testing.js";

const dir = mkdtempSync(path.join(tmpdir(), "neural-fs-errors-"));
let tiny: TinyModel;
let dataset: string;
const root = process.getuid?.() === 0;

beforeAll(async () => {
  tiny = await writeTinyModel(path.join(dir, "model"), { family: "qwen2", seed: 3, dtype: "F32", hiddenSize: 64, intermediateSize: 128 });
  dataset = path.join(dir, "data.jsonl");
  writeFileSync(
    dataset,
    Array.from({ length: 8 }, (_, i) => JSON.stringify({ instruction: `Say ${i}`, output: `Answer ${i}` })).join("\n") + "\n",
  );
}, 60_000);

const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const NOBODY = 65534;

/**
 * How this process can meet a folder it may not write: not root, chmod is enough (in-process); as root, the CLI runs
 * as nobody through setpriv or runuser; as root without either, the test is skipped.
 */
function deniedWriter(): { asUser?: string[] } | { skip: string } {
  if (!root) return {};
  const works = (command: string, args: string[]) => spawnSync(command, args, { stdio: "ignore" }).status === 0;
  if (works("setpriv", [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--", "true"]))
    return { asUser: ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--"] };
  if (works("runuser", ["-u", "nobody", "--", "true"])) return { asUser: ["runuser", "-u", "nobody", "--"] };
  return { skip: "running as root (which writes through any permission) with neither setpriv nor runuser to drop to nobody" };
}

/** The CLI in its own process, started through `asUser` (the files it reads must be readable by that user). */
function cliAs(asUser: string[], args: string[]): { code: number; stderr: string } {
  // nobody must reach the model inside this test's folder (mkdtemp makes it 0700)
  chmodSync(dir, 0o755);
  const r = spawnSync(asUser[0]!, [...asUser.slice(1), process.execPath, "--import", "tsx", "--conditions=source", main, ...args], {
    cwd: path.resolve(main, "../../../.."),
    env: { ...process.env, HOME: dir },
    encoding: "utf8",
    timeout: 150_000,
  });
  return { code: r.status ?? -1, stderr: r.stderr };
}

/** stderr without progress lines. */
const problems = (stderr: string) =>
  stderr
    .trim()
    .split("\n")
    .filter((l) => !/^(export|note|base model):/.test(l));

describe("file-system errors", () => {
  it("EISDIR: an export whose output is a folder", async () => {
    const output = path.join(dir, "out", "model.gguf");
    mkdirSync(output, { recursive: true });
    const r = await neural("export", "--model_dir", tiny.dir, "--output", output, "--quantization", "F32", "--no_modelfile");
    expect(problems(r.stderr)).toEqual([`neural export: ${output}: is a folder (EISDIR): give the path of a file`]);
    expect(r.code).toBe(1);
    expect(readdirSync(path.dirname(output))).toEqual(["model.gguf"]);
  }, 120_000);

  it("EISDIR: run given a folder for its .gguf", async () => {
    const r = await neural("run", dir, "--prompt", "hi");
    expect(problems(r.stderr)).toEqual([`neural run: ${dir}: is a folder (EISDIR): give the path of a file`]);
    expect(r.code).toBe(1);
  });

  it("EEXIST: a train whose --output_dir is a file", async () => {
    const output = path.join(dir, "a-file");
    writeFileSync(output, "not a folder");
    const r = await neural(
      "train",
      "--base_model",
      tiny.dir,
      "--dataset",
      dataset,
      "--output_dir",
      output,
      "--max_steps",
      "1",
      "--max_length",
      "64",
      "--device",
      "cpu",
      "--threads",
      "1",
      "--no-eval_generate",
    );
    expect(problems(r.stderr)).toEqual([
      `neural train: ${output}: already exists and is in the way (EEXIST): remove it or choose another path`,
    ]);
    expect(r.code).toBe(1);
  }, 120_000);

  // Root writes through any permission, so as root the CLI runs as nobody (uid 65534) in its own process.
  it("EACCES: an export into a folder that may not be written", async (context) => {
    const denied = deniedWriter();
    if ("skip" in denied) return context.skip(denied.skip);
    const locked = path.join(dir, "locked");
    mkdirSync(locked);
    chmodSync(locked, 0o555);
    const output = path.join(locked, "model.gguf");
    const args = ["export", "--model_dir", tiny.dir, "--output", output, "--quantization", "F32", "--no_modelfile"];
    const r = denied.asUser ? cliAs(denied.asUser, args) : await neural(...args);
    expect(problems(r.stderr)).toHaveLength(1);
    expect(problems(r.stderr)[0]).toMatch(
      new RegExp(
        `^neural export: ${locked}/[^ ]*: permission denied \\(EACCES\\): choose a place you may write to \\(or read from\\), or change its permissions$`,
      ),
    );
    expect(r.code).toBe(1);
    expect(readdirSync(locked)).toEqual([]);
  }, 180_000);

  it("EACCES, ENOSPC, ENOTDIR, and a rename's destination: each names the path and what to do", () => {
    const error = (code: string, extra: Record<string, string>) => Object.assign(new Error(code), { code, ...extra });
    expect(fileSystemMessage(error("EACCES", { path: "/srv/x", syscall: "open" }))).toBe(
      "/srv/x: permission denied (EACCES): choose a place you may write to (or read from), or change its permissions",
    );
    expect(fileSystemMessage(error("ENOSPC", { path: "/srv/x", syscall: "write" }))).toBe(
      "/srv/x: the disk is full (ENOSPC): free some space or write somewhere else",
    );
    expect(fileSystemMessage(error("EISDIR", { path: "/srv/.x.tmp", dest: "/srv/x", syscall: "rename" }))).toBe(
      "/srv/x: is a folder (EISDIR): give the path of a file",
    );
    expect(fileSystemMessage(new Error("not a file-system error"))).toBeUndefined();
  });
});

describe("ENOSPC on a small tmpfs (where this machine lets the test mount one)", () => {
  const mount = path.join(dir, "small");
  let mounted = false;
  beforeAll(() => {
    mkdirSync(mount);
    mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mount]).status === 0;
  });
  afterAll(() => {
    // lazily: a mount still busy (a file the failed export had open) must not fail the teardown
    if (mounted) spawnSync("umount", ["-l", mount]);
  });

  it("an export that fills the disk: one line, exit 1, and the disk is left empty", async (context) => {
    if (!mounted) context.skip();
    const output = path.join(mount, "model.gguf");
    const r = await neural("export", "--model_dir", tiny.dir, "--output", output, "--quantization", "F32", "--no_modelfile");
    expect(problems(r.stderr)).toHaveLength(1);
    expect(problems(r.stderr)[0]).toMatch(
      new RegExp(`^neural export: ${output}: the disk is full \\(ENOSPC\\): free some space or write somewhere else$`),
    );
    expect(r.code).toBe(1);
    expect(readdirSync(mount)).toEqual([]);
  }, 120_000);
});
