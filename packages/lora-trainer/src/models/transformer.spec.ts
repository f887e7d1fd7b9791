// Our forward against the float64 reference forward of @neural/testkit (written from the transformers modeling code)
// for a tiny random model of each family, plus packing and LoRA.

import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { FAMILIES, loadReferenceModel, referenceLogits, writeTinyModel, writeTinyLoraAdapter, softmax, klDivergence } from "@neural/testkit";
import { openModel } from "./load.js";
import { forwardLogits, maxAbsDiff, scratch } from "./test-helpers.js";

const root = scratch();
afterAll(() => rmSync(root, { recursive: true, force: true }));

const tokens = [1, 17, 42, 99, 5, 230, 7, 64, 12, 150, 33, 8];

describe.each(FAMILIES)("%s forward", (family) => {
  it("equals the float64 reference (float64 graph: 1e-9; float32 graph: KL < 1e-6)", async () => {
    const tiny = await writeTinyModel(`${root}/${family}`, { family, seed: 7 });
    const ref = referenceLogits(await loadReferenceModel(tiny.dir), tokens);
    const model = await openModel(tiny.dir);
    try {
      const [ours64] = await forwardLogits(model.config, model.source, [{ ids: tokens }], { dtype: "float64" });
      const scale = Math.max(...ref.map((r) => Math.max(...r.map(Math.abs))));
      for (let i = 0; i < tokens.length; i++) expect(maxAbsDiff(ours64![i]!, ref[i]!) / scale).toBeLessThan(1e-9);
      const [ours32] = await forwardLogits(model.config, model.source, [{ ids: tokens }]);
      for (let i = 0; i < tokens.length; i++) expect(klDivergence(softmax(ref[i]!), softmax(ours32![i]!))).toBeLessThan(1e-6);
    } finally {
      await model.close();
    }
  });
});
