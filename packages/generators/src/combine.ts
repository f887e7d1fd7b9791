// Helpers for building category spaces as finite, indexable products and unions of choices.

/** Splits an index into digits of mixed radices (the first radix varies fastest). */
export function digits(index: number, radices: readonly number[]): number[] {
  const out: number[] = [];
  let rest = index;
  for (const r of radices) {
    out.push(rest % r);
    rest = Math.floor(rest / r);
  }
  return out;
}

export function product(radices: readonly number[]): number {
  return radices.reduce((a, b) => a * b, 1);
}

export interface Indexed<T> {
  size: number;
  at(index: number): T;
}

/** A union of indexed parts: index i belongs to the part whose range holds it. */
export function union<T>(parts: readonly Indexed<T>[]): Indexed<T> {
  const offsets: number[] = [];
  let size = 0;
  for (const p of parts) {
    offsets.push(size);
    size += p.size;
  }
  return {
    size,
    at(index: number): T {
      if (index < 0 || index >= size) throw new RangeError(`index ${index} outside 0..${size - 1}`);
      let lo = 0;
      let hi = parts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (offsets[mid]! <= index) lo = mid;
        else hi = mid - 1;
      }
      return parts[lo]!.at(index - offsets[lo]!);
    },
  };
}

/** "a", "a and b", "a, b and c". */
export function joinList(items: readonly string[], conjunction = "and"): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} ${conjunction} ${items[items.length - 1]}`;
}

export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "1 card", "2 cards". */
export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}

/** Fills {name} slots; a missing slot is an error (it would otherwise leak "{name}" into a dataset). */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => {
    const v = values[key];
    if (v === undefined) throw new RangeError(`template slot {${key}} has no value in "${template}"`);
    return String(v);
  });
}
