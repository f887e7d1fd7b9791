// Fuzz test of preference rows (see fuzz.shared.ts): TRL's pair and KTO shapes with hostile values in every field.
// toPreferenceExample never throws: a row is an example or an issue naming its line; an example's answers are
// non-blank strings, its prompt ends with a user turn, and chosen differs from rejected. preparePreferenceDataset
// reads the same rows without throwing anything but a DatasetError.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fuzzCase, fuzzParameters, hostileJson, newStats, reportFuzz } from "../../../fuzz.shared.js";
import { DatasetError } from "./errors.js";
import { chunked, testTokenizer } from "./fixtures.spec-helper.js";
import { preparePreferenceDataset, toPreferenceExample } from "./preference.js";
import { readRecords } from "./read.js";

const message = fc.record({
  role: fc.oneof(fc.constantFrom("system", "user", "assistant", "tool", ""), hostileJson),
  content: fc.oneof(fc.string({ maxLength: 20 }), hostileJson),
});
const text = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom("a", "b", " ", ""), hostileJson);
const side = fc.oneof(text, fc.array(message, { maxLength: 4 }));
const row = fc.oneof(
  fc.record({ prompt: side, chosen: side, rejected: side }, { requiredKeys: [] }),
  fc.record({ prompt: side, completion: side, label: fc.oneof(fc.boolean(), hostileJson) }, { requiredKeys: [] }),
  fc.dictionary(fc.constantFrom("prompt", "chosen", "rejected", "completion", "label", "x"), hostileJson, { maxKeys: 5 }),
  hostileJson,
);

describe("preference rows fuzz", () => {
  it("every row is an example or an issue with its line; examples are usable", async () => {
    const stats = newStats();
    await fc.assert(
      fc.asyncProperty(row, async (value) => {
        let result: ReturnType<typeof toPreferenceExample> | undefined;
        await fuzzCase(
          stats,
          () => false,
          () => {
            result = toPreferenceExample(value, "fuzz.jsonl", 3);
            return "issue" in result ? result.issue.message : undefined;
          },
        );
        if (!result || "issue" in result) {
          expect(result?.issue).toMatchObject({ file: "fuzz.jsonl", line: 3 });
          return;
        }
        const e = result.example;
        expect(e.prompt.at(-1)?.role).toBe("user");
        if (e.kind === "pair") {
          expect(e.chosen).toMatch(/\S/);
          expect(e.rejected).toMatch(/\S/);
          expect(e.chosen).not.toBe(e.rejected);
        } else expect(typeof e.label).toBe("boolean");
      }),
      fuzzParameters(1000),
    );
    reportFuzz("preference rows", stats);
  });

  it("preparing a file of such rows throws nothing but a DatasetError", async () => {
    const tokenizer = await testTokenizer();
    const stats = newStats();
    await fc.assert(
      fc.asyncProperty(fc.array(row, { maxLength: 5 }), async (rows) => {
        const body = rows.map((r) => JSON.stringify(r) ?? "null").join("\n") + "\n";
        await fuzzCase(
          stats,
          (error) => error instanceof DatasetError,
          async () => {
            await preparePreferenceDataset(readRecords(chunked(body), { file: "fuzz.jsonl" }), "fuzz.jsonl", {
              tokenizer,
              maxLength: 64,
              validationSplit: 0,
            });
          },
        );
      }),
      fuzzParameters(200),
    );
    reportFuzz("preference files", stats);
  });
});
