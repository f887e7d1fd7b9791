// Shared by the specs: a small tokenizer trained by our own trainer on mixed text (made once per test file).
import { trainTokenizer } from "./bpe.js";
import { createTokenizer, type TextTokenizer } from "./tokenizer.js";

export const CORPUS = [
  "Evaluate the TLP level for this data: customer email addresses.",
  "TLP:AMBER - limited disclosure, restricted to participants' organizations.",
  "MATCH (p:Person)-[:KNOWS]->(f:Person) WHERE p.name = 'Alice' RETURN f.name ORDER BY f.name LIMIT 10",
  "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
  "Grüße aus Köln! Ça va? 日本語のテキスト。 Emoji: 😀🚀",
  "You are a helpful assistant. Answer briefly.",
];

let cached: Promise<TextTokenizer> | undefined;
export function testTokenizer(): Promise<TextTokenizer> {
  cached ??= trainTokenizer(Array.from({ length: 20 }, () => CORPUS).flat(), { vocabSize: 600 }).then((t) =>
    createTokenizer({ tokenizer: t.tokenizerJson, config: t.tokenizerConfig }),
  );
  return cached;
}

export async function* chunked(text: string, sizes: readonly number[] = [7, 1, 64, 3]): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  for (let k = 0; offset < bytes.length; k++) {
    const size = sizes[k % sizes.length]!;
    yield bytes.slice(offset, offset + size);
    offset += size;
  }
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
