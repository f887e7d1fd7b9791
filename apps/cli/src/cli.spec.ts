// The `neural` command as a user meets it: the bin from any folder (paths are theirs), --version, a --help that loads
// no library, the nearest name on a typo, true/false for booleans, and exit 2 for every usage error found before any
// file is read.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { neural } from "./testing.js";

const app = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const repo = path.resolve(app, "../..");
const bin = path.join(app, "bin", "neural.js");
const work = mkdtempSync(path.join(tmpdir(), "cli-user-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const version = (JSON.parse(readFileSync(path.join(app, "package.json"), "utf8")) as { version: string }).version;

/** Runs `command` in `cwd` without the variables of the pnpm script that runs these tests. */
function sh(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("npm_") && k !== "INIT_CWD"));
  const r = spawnSync(command, args, { cwd, encoding: "utf8", env: { ...clean, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the neural bin", () => {
  it("--version prints the package's version", async () => {
    for (const flag of ["--version", "-v"]) {
      const r = await neural(flag);
      expect(r).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
    }
    expect(sh(process.execPath, [bin, "--version"], work).stdout).toBe(`${version}\n`);
  });

  it("--help and --version load no library: each command's module is imported when it runs", () => {
    // A resolve hook that writes down every module the process resolves.
    const log = path.join(work, "resolved.txt");
    const hook = path.join(work, "log-hook.mjs");
    writeFileSync(
      hook,
      `import { appendFileSync } from "node:fs";\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(log)}, r.url + "\\n"); return r; }\n`,
    );
    const register = path.join(work, "register.mjs");
    writeFileSync(register, `import { register } from "node:module";\nregister(${JSON.stringify(new URL(`file://${hook}`).href)});\n`);
    for (const args of [["--help"], ["--version"], ["inspect", "--help"]]) {
      writeFileSync(log, "");
      const r = sh(process.execPath, ["--import", register, bin, ...args], work);
      expect(r.code, r.stderr).toBe(0);
      const resolved = readFileSync(log, "utf8").split("\n").filter(Boolean);
      expect(resolved.some((u) => u.endsWith("/apps/cli/src/main.ts"))).toBe(true);
      const libraries = resolved.filter((u) => /\/packages\/[^/]+\/src\/|onnxruntime|node-llama-cpp|neo4j|antlr4/.test(u));
      if (args[0] === "inspect")
        expect(
          libraries.every(
            (u) =>
              u.includes("/packages/gguf-writer/") ||
              u.includes("/packages/quantize/") ||
              u.includes("/packages/safetensors/") ||
              u.includes("/packages/hf-config/"),
          ),
        ).toBe(true);
      else expect(libraries).toEqual([]);
    }
  });

  it("resolves paths against the folder it runs in, and writes there", () => {
    const r = sh(process.execPath, [bin, "generate", "tlp", "--count", "12", "--seed", "3", "--output", "data/tlp.jsonl"], work);
    expect(r.code, r.stderr).toBe(0);
    expect(
      readFileSync(path.join(work, "data", "tlp.jsonl"), "utf8")
        .trim()
        .split("\n"),
    ).toHaveLength(12);
    const v = sh(process.execPath, [bin, "validate", "data/tlp.jsonl"], work);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/^data\/tlp\.jsonl: 12 records, 12 valid/);
  });

  it("from the checkout, `pnpm neural` and `pnpm --filter cli <script>` take paths from where they are typed", () => {
    const datasets = path.join(repo, "datasets");
    expect(existsSync(path.join(datasets, "tlp.jsonl"))).toBe(true);
    const pnpm = ["-y", "pnpm@12.4.2"];
    const direct = sh("npx", [...pnpm, "neural", "validate", "tlp.jsonl"], datasets);
    expect(direct.code, direct.stderr).toBe(0);
    expect(direct.stdout).toMatch(/^tlp\.jsonl: \d+ records/);
    expect(direct.stdout + direct.stderr).not.toMatch(/\$ |ELIFECYCLE/); // no script echo: pnpm runs the bin
    const script = sh("npx", [...pnpm, "--filter", "cli", "validate", "tlp.jsonl"], datasets);
    expect(script.code, script.stderr).toBe(0);
    expect(script.stdout).toMatch(/tlp\.jsonl: \d+ records/);
  });
});

describe("usage", () => {
  it("suggests the nearest command, flag, value or generator on a typo", async () => {
    expect(await neural("trian")).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^neural: unknown command "trian" \(did you mean train\?\)/),
    });
    expect(await neural("inspect", "x.gguf", "--jsno")).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/unknown option --jsno \(did you mean --json\?\)/),
    });
    expect(await neural("export", "--model_dir", "m", "--output", "m.gguf", "--quantization", "q4_k_m")).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/got "q4_k_m" \(did you mean Q4_K_M\?\)/),
    });
    expect(await neural("validate", "x.jsonl", "--template", "chatlm")).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/\(did you mean chatml\?\)/),
    });
    expect(await neural("generate", "tpl")).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/unknown generator "tpl" \(did you mean tlp\?\)/),
    });
  });

  it("takes true/false after a boolean flag, as --flag=false and --no-flag do", async () => {
    const file = path.join(work, "one.jsonl");
    writeFileSync(file, JSON.stringify({ instruction: "q", output: "a" }) + "\n");
    const text = await neural("validate", file, "--json", "false");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/result: OK/);
    const json = await neural("validate", file, "--json", "true");
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, records: 1 });
  });

  it("every usage error found before any file is read exits 2 with one line naming the flag", async () => {
    const cases: string[][] = [
      ["export"],
      ["export", "--model_dir", "m", "--output", "m.txt"],
      ["export", "--model_dir", "m", "--output", "m.gguf", "--threads", "-1"],
      ["merge", "--model_dir", "a"],
      ["tokenizer", "train", "--dataset", "d.jsonl"],
      ["inspect"],
      ["validate"],
      ["eval", "m.gguf"],
      ["run", "m.gguf", "--prompt", "x", "--top_p", "2"],
      ["prepare", "--batch_size", "0"],
      ["prepare", "--validation_split", "1.5"],
      ["prepare", "--vocab_size", "5"],
      ["quickstart", "--pretrain_rows", "0"],
      ["quickstart", "--hidden_size", "30"],
      ["generate", "tlp", "--count", "-1"],
      ["generate", "mtg", "--format", "xml"],
      ["train", "--lora_r", "0"],
      ["train", "--packing", "maybe"],
    ];
    for (const args of cases) {
      const r = await neural(...args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(" ")).not.toMatch(/\n\s+at /);
    }
  });
});
