// What a bundler takes into a browser from this package: every module reachable from src/index.ts, following
// workspace packages through their "browser" export condition (else their "source" entry), reaches no Node built-in
// and no Node-only package. The web app's Vite build fails on the same (apps/web/vite.config.ts); this finds it
// without a build.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const packages = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Packages from npm that the browser build may contain. */
const ALLOWED = new Set(["@huggingface/tokenizers", "@huggingface/jinja", "ajv"]);

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8").replace(/\/\/.*$/gm, "");
  return [...text.matchAll(/^\s*(?:import|export)\b(?!\s+type\b)[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1]!);
}

function entryOf(spec: string): string | undefined {
  const m = /^@neural\/([^/]+)(\/.*)?$/.exec(spec);
  if (!m) return undefined;
  const pkg = JSON.parse(readFileSync(join(packages, m[1]!, "package.json"), "utf8")) as { exports: Record<string, any> };
  const entry = pkg.exports[m[2] ? `.${m[2]}` : "."];
  const source = entry?.browser?.source ?? entry?.source;
  return source ? join(packages, m[1]!, source) : undefined;
}

function reach(start: string): { files: Set<string>; bad: string[] } {
  const files = new Set<string>();
  const bad: string[] = [];
  const walk = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of importsOf(file)) {
      if (spec.startsWith(".")) {
        const target = resolve(dirname(file), spec.replace(/\.js$/, ".ts"));
        walk(existsSync(target) ? target : target.replace(/\.ts$/, "/index.ts"));
      } else if (spec.startsWith("@neural/")) {
        const entry = entryOf(spec);
        if (!entry || /\/(node|parallel|worker)\.ts$/.test(entry)) bad.push(`${file}: ${spec}`);
        else walk(entry);
      } else if (!ALLOWED.has(spec)) bad.push(`${file}: ${spec}`);
    }
  };
  walk(start);
  return { files, bad };
}

describe("the browser build", () => {
  it("reaches no Node built-in and no Node-only module", () => {
    const { files, bad } = reach(join(packages, "web-trainer", "src", "index.ts"));
    expect(bad).toEqual([]);
    const rel = [...files].map((f) => f.slice(packages.length + 1));
    // The pieces it is made of, through their browser entries:
    for (const f of [
      "dataset/src/browser.ts",
      "graph/src/index.ts",
      "lora-trainer/src/browser.ts",
      "lora-trainer/src/train-step.ts",
      "gguf-writer/src/browser.ts",
      "gguf-writer/src/convert/model.ts",
      "safetensors/src/browser.ts",
      "quantize/src/index.ts",
    ]) {
      expect(rel).toContain(f);
    }
    for (const f of [
      "dataset/src/read-file.ts",
      "lora-trainer/src/trainer.ts",
      "lora-trainer/src/peft.ts",
      "gguf-writer/src/convert/convert.ts",
      "safetensors/src/node.ts",
      "graph/src/node.ts",
    ]) {
      expect(rel).not.toContain(f);
    }
  });
});
