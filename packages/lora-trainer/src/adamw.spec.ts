// The in-place AdamW pass (WebAssembly and JavaScript) against the closed form computed in float64, and the
// embedded WebAssembly against its AssemblyScript source.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { adamwFold, adamwInPlace, adamwScalars, adamwUpdate, setAdamwBackend } from "./adamw.js";
import { seededRandom } from "./models/decode.js";

const optimizer = { beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1, maxGradNorm: 0.5 };

function check(backend: "auto" | "js", n: number, decay: boolean) {
  setAdamwBackend(backend);
  const r = seededRandom(n);
  const f32 = (scale: number, offset = 0) => Float32Array.from({ length: n }, () => offset + (r() - 0.5) * scale);
  const [p, g, m] = [f32(2), f32(0.2), f32(0.01)];
  const v = f32(1e-4, 1e-4);
  const [p0, m0, v0] = [Float64Array.from(p), Float64Array.from(m), Float64Array.from(v)];
  const gradNorm = 3; // clips by 0.5 / 3
  const step = 4;
  adamwInPlace(p, g, m, v, adamwScalars(optimizer, { lr: 1e-2, step, gradNorm }), decay);
  const clip = 0.5 / (gradNorm + 1e-6);
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const gi = g[i]! * clip;
    const mi = 0.9 * m0[i]! + 0.1 * gi;
    const vi = 0.99 * v0[i]! + 0.01 * gi * gi;
    const pi = p0[i]! * (decay ? 1 - 1e-2 * 0.1 : 1) - (1e-2 / (1 - 0.9 ** step)) * (mi / (Math.sqrt(vi / (1 - 0.99 ** step)) + 1e-8));
    worst = Math.max(
      worst,
      Math.abs(m[i]! - mi) / (0.9 * Math.abs(m0[i]!) + 0.1 * Math.abs(gi)),
      Math.abs(v[i]! - vi) / vi,
      Math.abs(p[i]! - pi) / (Math.abs(p0[i]!) + 1e-2),
    ); // p − update may cancel: relative to its terms
  }
  return worst;
}

describe("AdamW in place", () => {
  afterEach(() => setAdamwBackend("auto"));
  for (const backend of ["auto", "js"] as const) {
    it(`${backend === "auto" ? "WebAssembly" : "JavaScript"}: the closed form within float32 rounding, every length and chunk edge`, () => {
      for (const n of [1, 3, 4, 7, 8192, 8195, 3 * 8192 + 13]) {
        expect(check(backend, n, true), `n ${n}`).toBeLessThan(2e-6);
        expect(check(backend, n, false), `n ${n}, no decay`).toBeLessThan(2e-6);
      }
    });
  }

  for (const backend of ["auto", "js"] as const) {
    it(`${backend === "auto" ? "WebAssembly" : "JavaScript"}: adamwUpdate then adamwFold give adamwInPlace's bits, and report non-finite values`, () => {
      setAdamwBackend(backend);
      for (const n of [3, 8195]) {
        const r = seededRandom(n);
        const f32 = (scale: number, offset = 0) => Float32Array.from({ length: n }, () => offset + (r() - 0.5) * scale);
        const [p, g, m, v] = [f32(2), f32(0.2), f32(0.01), f32(1e-4, 1e-4)];
        const s = adamwScalars(optimizer, { lr: 1e-2, step: 3, gradNorm: 3 });
        const whole = [Float32Array.from(p), Float32Array.from(m), Float32Array.from(v)] as const;
        adamwInPlace(whole[0], g, whole[1], whole[2], s, true);
        expect(adamwUpdate(p, g, m, v, s, true)).toBe(true);
        adamwFold(g, m, v, s);
        expect([p, m, v]).toEqual(whole);
        // a gradient whose square overflows float32 makes v infinite, and only v: still reported
        g[n - 1] = 1e30;
        expect(adamwUpdate(p, g, m, v, adamwScalars({ ...optimizer, maxGradNorm: 0 }, { lr: 1e-2, step: 3, gradNorm: 3 }), true)).toBe(
          false,
        );
        expect(adamwUpdate(p, f32(0.2), m, v, adamwScalars(optimizer, { lr: Infinity, step: 3, gradNorm: 3 }), true)).toBe(false);
      }
    });
  }

  it("the embedded WebAssembly is what asm/adamw.ts compiles to (src/adamw-wasm.ts is not stale)", () => {
    const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
    const r = spawnSync(
      process.execPath,
      [join(pkg, "..", "..", "scripts", "build-wasm.mjs"), pkg, "asm/adamw.ts", "src/adamw-wasm.ts", "ADAMW_WASM", "--check"],
      { encoding: "utf8" },
    );
    expect(r.stderr + r.stdout).toContain("up to date");
    expect(r.status).toBe(0);
  }, 60_000);
});
