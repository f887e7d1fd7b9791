// Fuzz test of tokenizer loading (see fuzz.shared.ts): a real tokenizer.json and tokenizer_config.json with hostile
// values put anywhere. Each either loads and then encodes and decodes text, or fails with a TokenizerError (or a
// TemplateError for the chat template), in bounded time and memory.
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { fuzzCase, fuzzParameters, hostileJson, newStats, reportFuzz } from "../../../fuzz.shared.js";
import { trainTokenizer } from "./bpe.js";
import { TemplateError, TokenizerError } from "./errors.js";
import { CORPUS } from "./fixtures.spec-helper.js";
import { resolveTemplate } from "./prepare.js";
import { createTokenizer } from "./tokenizer.js";
import { encodeExample } from "./encode.js";

const trained = await trainTokenizer(CORPUS, { vocabSize: 300 });
const files = { tokenizer: trained.tokenizerJson, config: trained.tokenizerConfig };

type Path = (string | number)[];

/** Every place in a JSON tree (a few entries of long arrays and maps only). */
function places(node: unknown, path: Path = [], out: Path[] = []): Path[] {
  out.push(path);
  if (typeof node !== "object" || node === null) return out;
  const entries = Array.isArray(node) ? node.map((v, i) => [i, v] as const) : Object.entries(node);
  for (const [key, value] of entries.slice(0, 6)) places(value, [...path, key], out);
  return out;
}

function edited(root: Record<string, unknown>, path: Path, value: unknown, remove: boolean): Record<string, unknown> {
  if (path.length === 0) return (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  const copy = structuredClone(root);
  let node: any = copy;
  for (const key of path.slice(0, -1)) {
    node = node[key];
    if (typeof node !== "object" || node === null) return copy; // an earlier edit replaced this branch
  }
  const last = path[path.length - 1]!;
  if (remove && !Array.isArray(node)) delete node[last];
  else node[last] = value;
  return copy;
}

const tokenizerPlaces = places(files.tokenizer);
const configPlaces = places(files.config);
const extraRegex = fc.constantFrom("(\\S+\\s*)*!", "(a|a)*$", "\\p{L}+", "[", "(?<x>a)\\k<x>", "");
const edit = fc.record({
  file: fc.constantFrom("tokenizer", "tokenizer", "tokenizer", "config"),
  at: fc.nat(),
  value: fc.oneof(
    hostileJson,
    fc.record({ Regex: extraRegex }),
    fc.record({ String: fc.string() }),
    fc.constantFrom("BPE", "WordPiece", "Unigram", "Sequence", "Split", "ByteLevel", "Metaspace", "Replace"),
  ),
  remove: fc.boolean(),
});

const TEXTS = ["Hello world! The quick brown fox.", "<|im_start|>user\nMATCH (n) RETURN n<|im_end|>", "Grüße 日本語 😀  \n\t x=1;", ""];
const isTyped = (error: unknown) => error instanceof TokenizerError || error instanceof TemplateError;

describe("tokenizer.json fuzz", () => {
  it("hostile values anywhere in tokenizer.json or tokenizer_config.json: a working tokenizer, or a TokenizerError", async () => {
    createTokenizer(files);
    const stats = newStats();
    // The tokenizer library warns on the console about some malformed files: those must be refused before it sees them.
    const printed = [vi.spyOn(console, "warn"), vi.spyOn(console, "log"), vi.spyOn(console, "error")];
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) =>
        fuzzCase(stats, isTyped, () => {
          let { tokenizer, config } = files;
          for (const e of edits) {
            if (e.file === "tokenizer") tokenizer = edited(tokenizer, tokenizerPlaces[e.at % tokenizerPlaces.length]!, e.value, e.remove);
            else config = edited(config, configPlaces[e.at % configPlaces.length]!, e.value, e.remove);
          }
          const loaded = createTokenizer({ tokenizer, config }, "fuzz");
          const template = resolveTemplate("chatml", loaded);
          for (const text of TEXTS) loaded.decode(loaded.encode(text));
          encodeExample(
            {
              format: "chat",
              kind: "chat",
              messages: [
                { role: "user", content: TEXTS[0]! },
                { role: "assistant", content: TEXTS[2]! },
              ],
            },
            { template, tokenizer: loaded, maxLength: 64 },
          );
        }),
      ),
      fuzzParameters(600),
    );
    for (const spy of printed) {
      expect(spy.mock.calls).toEqual([]);
      spy.mockRestore();
    }
    reportFuzz("tokenizer.json", stats);
  }, 600_000);
});
