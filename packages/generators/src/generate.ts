// Exact-count, deduplicated, seeded generation over a generator's category spaces.
import { CapacityError, GeneratorOptionsError } from "./errors.js";
import { allocate, maxCount, resolveShares, type CategorySpace, type Distribution } from "./plan.js";
import { createRng, hashHex, LazyPermutation, type Rng } from "./rng.js";
import { normalizedKey, toRow, type Row, type RowFormat } from "./rows.js";

export interface GenerationOptions {
  /** Exactly this many rows, or a CapacityError before anything is produced. */
  count: number;
  seed: number | string;
  format?: RowFormat;
  /** A system prompt put on every row. */
  system?: string;
  /** Weights per category; default: each category's own weight. */
  distribution?: Distribution;
}

export interface CategoryPlan {
  category: string;
  /** The requested share (0..1) and the rows it means for this count. */
  share: number;
  rows: number;
  /** Candidates the category holds: the most unique rows it can give. */
  capacity: number;
}

export interface GenerationPlan {
  generator: string;
  count: number;
  categories: CategoryPlan[];
  /** Sum of the capacities of categories with a share. */
  capacity: number;
  /** The largest count that works with these options and this distribution. */
  maxCount: number;
}

export interface CategoryStats {
  category: string;
  share: number;
  requested: number;
  rows: number;
  capacity: number;
  candidates: number;
  duplicates: number;
  rejected: number;
}

export interface GenerationStats {
  rows: number;
  candidates: number;
  duplicates: number;
  rejected: number;
  categories: CategoryStats[];
}

export function planGeneration(
  generator: string,
  spaces: readonly CategorySpace[],
  options: Pick<GenerationOptions, "count" | "distribution">,
): GenerationPlan {
  const { count } = options;
  if (!Number.isInteger(count) || count < 0) throw new GeneratorOptionsError(`--count must be a whole number >= 0, got ${count}`);
  const names = new Set<string>();
  for (const s of spaces) {
    if (names.has(s.name)) throw new GeneratorOptionsError(`${generator}: category "${s.name}" is defined twice`);
    names.add(s.name);
    if (!Number.isInteger(s.size) || s.size < 0)
      throw new GeneratorOptionsError(`${generator}: category "${s.name}" has an invalid size ${s.size}`);
  }
  const shares = resolveShares(spaces, options.distribution);
  const capacity = new Map(spaces.map((s) => [s.name, s.size]));
  const quotas = allocate(count, shares);
  const categories = shares.map((s) => ({
    category: s.category,
    share: s.share,
    rows: quotas.get(s.category)!,
    capacity: capacity.get(s.category)!,
  }));
  const max = maxCount(shares, capacity);
  const plan: GenerationPlan = {
    generator,
    count,
    categories,
    capacity: categories.filter((c) => c.share > 0).reduce((sum, c) => sum + c.capacity, 0),
    maxCount: max,
  };
  if (count > max) {
    throw new CapacityError(
      generator,
      count,
      max,
      categories.filter((c) => c.share > 0).map((c) => ({ category: c.category, requested: c.rows, capacity: c.capacity })),
    );
  }
  return plan;
}

export interface Generation {
  plan: GenerationPlan;
  /** The rows, in a seeded interleaving of the categories. Iterate once. Throws CapacityError if a category runs dry. */
  rows: Iterable<Row>;
  stats(): GenerationStats;
}

class CategoryCursor {
  readonly permutation: LazyPermutation;
  rows = 0;
  candidates = 0;
  duplicates = 0;
  rejected = 0;

  constructor(
    readonly space: CategorySpace,
    readonly requested: number,
    readonly share: number,
    private seed: string,
  ) {
    this.permutation = new LazyPermutation(space.size, createRng(`${seed}\u0000order\u0000${space.name}`));
  }

  rngFor(index: number): Rng {
    return createRng(`${this.seed}\u0000${this.space.name}\u0000${index}`);
  }
}

export function createGeneration(generator: string, spaces: readonly CategorySpace[], options: GenerationOptions): Generation {
  const plan = planGeneration(generator, spaces, options);
  const format = options.format ?? "instruction";
  const seed = String(options.seed);
  const cursors = plan.categories.map(
    (c) =>
      new CategoryCursor(
        spaces.find((s) => s.name === c.category)!,
        c.rows,
        c.share,
        seed,
      ),
  );
  const seen = new Set<string>();

  function* rows(): Generator<Row> {
    // Which category each output row comes from: every category's quota, shuffled.
    const order: number[] = [];
    cursors.forEach((cursor, i) => {
      for (let k = 0; k < cursor.requested; k++) order.push(i);
    });
    const shuffled = createRng(`${seed}\u0000interleave`).shuffle(order);
    for (const i of shuffled) {
      const cursor = cursors[i]!;
      for (;;) {
        const index = cursor.permutation.next();
        if (index === undefined) {
          const got = cursor.rows;
          throw new CapacityError(
            generator,
            plan.count,
            Math.min(plan.maxCount, Math.floor(got / Math.max(cursor.share, 1e-12))),
            [{ category: cursor.space.name, requested: cursor.requested, capacity: got }],
            `Category "${cursor.space.name}" ran out of candidates after ${got} unique rows (${cursor.duplicates} duplicates, ${cursor.rejected} rejected)`,
          );
        }
        cursor.candidates++;
        const example = cursor.space.at(index, cursor.rngFor(index));
        if (!example) {
          cursor.rejected++;
          continue;
        }
        const key = hashHex(normalizedKey(example, options.system));
        if (seen.has(key)) {
          cursor.duplicates++;
          continue;
        }
        seen.add(key);
        cursor.rows++;
        yield toRow(example, cursor.space.name, format, options.system);
        break;
      }
    }
  }

  return {
    plan,
    rows: { [Symbol.iterator]: rows },
    stats() {
      const categories = cursors.map((c) => ({
        category: c.space.name,
        share: c.share,
        requested: c.requested,
        rows: c.rows,
        capacity: c.space.size,
        candidates: c.candidates,
        duplicates: c.duplicates,
        rejected: c.rejected,
      }));
      const sum = (k: "rows" | "candidates" | "duplicates" | "rejected") => categories.reduce((n, c) => n + c[k], 0);
      return { rows: sum("rows"), candidates: sum("candidates"), duplicates: sum("duplicates"), rejected: sum("rejected"), categories };
    },
  };
}

/**
 * Enumerates every candidate of every category and counts the unique rows: the exact capacity of a generator for
 * some options (slow for big spaces; meant for tests and `--capacity`).
 */
export function measureCapacity(
  spaces: readonly CategorySpace[],
  seed: number | string = 0,
  system?: string,
): Map<string, { size: number; unique: number; rejected: number; duplicates: number }> {
  const seen = new Set<string>();
  const out = new Map<string, { size: number; unique: number; rejected: number; duplicates: number }>();
  for (const space of spaces) {
    const entry = { size: space.size, unique: 0, rejected: 0, duplicates: 0 };
    for (let i = 0; i < space.size; i++) {
      const example = space.at(i, createRng(`${seed}\u0000${space.name}\u0000${i}`));
      if (!example) {
        entry.rejected++;
        continue;
      }
      const key = hashHex(normalizedKey(example, system));
      if (seen.has(key)) entry.duplicates++;
      else {
        seen.add(key);
        entry.unique++;
      }
    }
    out.set(space.name, entry);
  }
  return out;
}
