import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

describe("the embedded WebAssembly", () => {
  it("is what asm/kernels.ts compiles to (src/wasm-kernels.ts is not stale)", () => {
    const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
    const script = join(pkg, "..", "..", "scripts", "build-wasm.mjs");
    const r = spawnSync(process.execPath, [script, pkg, "asm/kernels.ts", "src/wasm-kernels.ts", "WASM_KERNELS", "--check"], {
      encoding: "utf8",
    });
    expect(r.stderr + r.stdout).toContain("up to date");
    expect(r.status).toBe(0);
  }, 60_000);
});
