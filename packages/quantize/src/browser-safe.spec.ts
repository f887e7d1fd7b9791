import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const src = dirname(fileURLToPath(import.meta.url));

function importsOf(file: string): string[] {
  const text = readFileSync(join(src, file), "utf8");
  return [...text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1]!);
}

describe("the main entry is browser-safe", () => {
  it("reaches no Node built-in and no package", () => {
    const seen = new Set<string>();
    const bad: string[] = [];
    const walk = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const spec of importsOf(file)) {
        if (spec.startsWith("./")) walk(spec.replace(/^\.\//, "").replace(/\.js$/, ".ts"));
        else bad.push(`${file}: ${spec}`);
      }
    };
    walk("index.ts");
    expect(bad).toEqual([]);
    expect(seen.has("kquants.ts")).toBe(true);
    expect(seen.has("parallel.ts")).toBe(false);
  });
});
