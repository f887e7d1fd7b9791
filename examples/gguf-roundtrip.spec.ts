// The example runs as a user would run it: plain `node`, importing @neural/gguf-writer and @neural/quantize from their
// built dist (no "source" condition, no TypeScript loader). Stale or missing builds are rebuilt first (tsup).
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";

const run = promisify(execFile);
const here = fileURLToPath(new URL(".", import.meta.url));
const repo = join(here, "..");
// Dependencies first: gguf-writer's dist imports the others.
const BUILT = ["safetensors", "quantize", "hf-config", "gguf-writer"];

async function newest(dir: string): Promise<number> {
  let t = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && !e.name.endsWith(".spec.ts")) t = Math.max(t, (await stat(join(e.parentPath, e.name))).mtimeMs);
  }
  return t;
}

const root = await mkdtemp(join(tmpdir(), "examples-"));
afterAll(() => rm(root, { recursive: true, force: true }));

beforeAll(async () => {
  for (const name of BUILT) {
    const pkg = join(repo, "packages", name);
    const built = await stat(join(pkg, "dist", "index.js")).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    if (built < (await newest(join(pkg, "src")))) await run(join(repo, "node_modules", ".bin", "tsup"), [], { cwd: pkg });
  }
});

it("gguf-roundtrip.mjs writes a Q4_K_M GGUF with the built packages and reads it back", async () => {
  const out = join(root, "example.gguf");
  const { stdout } = await run(process.execPath, [join(here, "gguf-roundtrip.mjs"), out, "--json"], {
    cwd: here,
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  const summary = JSON.parse(stdout) as {
    size: number;
    name: string;
    tensors: Array<{ name: string; type: string; ne: number[]; relativeRmsError: number }>;
  };
  expect(summary.name).toBe("gguf-roundtrip example");
  expect((await stat(out)).size).toBe(summary.size);
  const byName = Object.fromEntries(summary.tensors.map((t) => [t.name, t]));
  // llama.cpp's Q4_K_M choices for one layer: norms F32; attn_v, ffn_down and output Q6_K; the rest Q4_K.
  expect(Object.fromEntries(summary.tensors.map((t) => [t.name, t.type]))).toEqual({
    "token_embd.weight": "Q4_K",
    "blk.0.attn_norm.weight": "F32",
    "blk.0.attn_q.weight": "Q4_K",
    "blk.0.attn_v.weight": "Q6_K",
    "blk.0.ffn_down.weight": "Q6_K",
    "output.weight": "Q6_K",
  });
  expect(byName["blk.0.ffn_down.weight"]!.ne).toEqual([768, 256]);
  for (const t of summary.tensors) {
    const bound = t.type === "F32" ? 0 : t.type === "Q6_K" ? 0.02 : 0.08; // measured: 1.3 % and 5.3 %
    expect(t.relativeRmsError, t.name).toBeLessThanOrEqual(bound);
  }
  // Plain text by default.
  const text = await run(process.execPath, [join(here, "gguf-roundtrip.mjs"), join(root, "text.gguf")], { cwd: here });
  expect(text.stdout).toMatch(/blk\.0\.attn_v\.weight\s+Q6_K\s+\[256, 256\]/);
});
