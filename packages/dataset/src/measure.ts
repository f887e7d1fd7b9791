// A row is measured against max_length before it is tokenized whole: first its characters against what max_length
// tokens can cover, then its tokens piece by piece, stopping as soon as it cannot fit. Only a text that may fit is
// tokenized whole, so a 50 MB row costs about what max_length tokens cost, not what 50 MB of tokens would.
import type { TextSpan } from "./templates.js";
import type { TextTokenizer } from "./tokenizer.js";

/** Normalizers (NFC, lowercasing) can fold a few characters into one: the slack on characters per token. */
const FOLDING = 4;

export interface Bounded {
  /** The spans to tokenize: all of them, or when `cut`, a prefix that holds more than `limit` tokens. */
  spans: TextSpan[];
  cut: boolean;
  /** When cut: the tokens counted (or inferred from the characters) before stopping, more than `limit`. */
  estimate: number;
}

/**
 * Bounds the text of `spans` to what may matter for `limit` tokens. A text with more characters than `limit`
 * tokens can cover, or whose pieces (cut at spaces, tokenized one at a time) add up to more than twice `limit`, is cut
 * there. Tokenizing in pieces never adds more than a few tokens per piece boundary, so a text cut this way has more
 * than `limit` tokens, and one that is not cut is tokenized whole at a cost bounded by `limit`. With `prefix` false,
 * a text that is too long by its characters alone is not tokenized at all (the caller drops it).
 */
export function boundSpans(spans: readonly TextSpan[], tokenizer: TextTokenizer, limit: number, prefix: boolean): Bounded {
  const longest = tokenizer.maxTokenLength ?? 16;
  const charBudget = tokenizer.maxTokenLength !== undefined ? limit * longest * FOLDING : Infinity;
  const pieceChars = Math.max(4096, 16 * longest * FOLDING);
  const ceiling = 2 * limit + 4 * spans.length + 16;
  const total = spans.reduce((sum, s) => sum + s.text.length, 0);
  const inferred = (chars: number) => Math.max(limit + 1, Math.ceil(chars / (longest * FOLDING)));
  if (total <= pieceChars) return { spans: [...spans], cut: false, estimate: 0 };
  if (total > charBudget && !prefix) return { spans: [], cut: true, estimate: inferred(total) };

  const kept: TextSpan[] = [];
  let tokens = 0;
  let chars = 0;
  for (const span of spans) {
    const { text } = span;
    for (let start = 0; start < text.length;) {
      let end = pieceEnd(text, start, pieceChars);
      const over = chars + (end - start) > charBudget;
      if (over) end = start + (charBudget - chars);
      tokens += tokenizer.encode(text.slice(start, end)).length;
      chars += end - start;
      start = end;
      if (over || tokens > ceiling) {
        kept.push({ ...span, text: text.slice(0, end) });
        return { spans: kept, cut: true, estimate: Math.max(tokens, over ? inferred(total) : 0) };
      }
    }
    kept.push(span);
  }
  return { spans: kept, cut: false, estimate: 0 };
}

/** Where the piece starting at `start` ends: before a space that follows a word, or after `size` characters. */
function pieceEnd(text: string, start: number, size: number): number {
  const limit = start + size;
  if (limit >= text.length) return text.length;
  for (let i = limit; i > start + size / 2; i--) {
    if (text.charCodeAt(i) === 0x20 && !isSpace(text.charCodeAt(i - 1))) return i;
  }
  const code = text.charCodeAt(limit - 1);
  return code >= 0xd800 && code <= 0xdbff ? limit - 1 : limit; // never split a surrogate pair
}

const isSpace = (code: number): boolean => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
