import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  allocate,
  CapacityError,
  collectRows,
  createGeneration,
  createJsonlWriter,
  createRng,
  digits,
  GeneratorOptionsError,
  LazyPermutation,
  maxCount,
  measureCapacity,
  parseDistribution,
  parseGeneratorArgs,
  commonOptions,
  resolveShares,
  runGenerator,
  runGeneratorCli,
  union,
  type CategorySpace,
  type GeneratorDefinition,
} from "./index.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "neural-gen-"));
  dirs.push(d);
  return d;
}

function toySpaces(sizes: Record<string, number>, weights: Record<string, number> = {}): CategorySpace[] {
  return Object.entries(sizes).map(([name, size]) => ({
    name,
    size,
    weight: weights[name] ?? 1,
    at: (i, rng) => ({ instruction: `${rng.pick(["What is", "Tell me"])} ${name} number ${i}?`, output: `${name}-${i}` }),
  }));
}

const toy: GeneratorDefinition = {
  name: "toy",
  summary: "toy rows",
  options: [{ name: "size", type: "number", description: "rows per category", default: 500 }],
  defaultOutput: "data/toy.jsonl",
  defaultCount: 10,
  prepare: (o) => toySpaces({ a: o.size as number, b: o.size as number, c: 50 }, { a: 2, b: 1, c: 1 }),
};

describe("rng", () => {
  it("is deterministic per seed and differs between seeds", () => {
    const a = createRng(42);
    const b = createRng("42");
    const c = createRng(43);
    const xs = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it("int is in range and roughly uniform", () => {
    const rng = createRng(1);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[rng.int(6)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    expect(() => rng.int(0)).toThrow(RangeError);
  });

  it("forks are independent of consumption", () => {
    const a = createRng(5);
    const b = createRng(5);
    b.next();
    expect(a.fork("x").next()).toBe(b.fork("x").next());
  });

  it("LazyPermutation yields each index once", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer(), (size, seed) => {
        const p = new LazyPermutation(size, createRng(seed));
        const seen: number[] = [];
        for (let i = p.next(); i !== undefined; i = p.next()) seen.push(i);
        expect(seen.length).toBe(size);
        expect(new Set(seen).size).toBe(size);
        expect(seen.every((i) => i >= 0 && i < size)).toBe(true);
      }),
    );
  });
});

describe("plan", () => {
  it("allocate sums to count and stays within one row of the exact share", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 100_000 }),
        (weights, count) => {
          fc.pre(weights.some((w) => w > 0));
          const shares = resolveShares(weights.map((w, i) => ({ name: `c${i}`, size: 1, weight: w, at: () => undefined })));
          const quotas = allocate(count, shares);
          expect([...quotas.values()].reduce((a, b) => a + b, 0)).toBe(count);
          for (const s of shares) expect(Math.abs(quotas.get(s.category)! - s.share * count)).toBeLessThan(1);
        },
      ),
    );
  });

  it("maxCount is the largest count that fits", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 500 })), { minLength: 1, maxLength: 6 }),
        (cats) => {
          const spaces = cats.map(([w, size], i) => ({ name: `c${i}`, size, weight: w, at: () => undefined }));
          const shares = resolveShares(spaces);
          const capacity = new Map(spaces.map((s) => [s.name, s.size]));
          const max = maxCount(shares, capacity);
          const fits = (n: number) => [...allocate(n, shares)].every(([c, r]) => r <= capacity.get(c)!);
          expect(fits(max)).toBe(true);
          for (let n = max + 1; n < max + 200; n++) expect(fits(n)).toBe(false);
          expect({ cats, max, next: fits(max + 1) }).toEqual({ cats, max, next: false });
        },
      ),
    );
  });

  it("parses distributions and rejects unknown categories", () => {
    expect(parseDistribution("a=40, b:60%")).toEqual({ a: 40, b: 60 });
    expect(() => parseDistribution("a")).toThrow(GeneratorOptionsError);
    expect(() => resolveShares(toySpaces({ a: 1 }), { z: 1 })).toThrow(/unknown category "z"/);
  });

  it("digits and union address every index", () => {
    expect(digits(23, [2, 3, 4])).toEqual([1, 2, 3]);
    const u = union([
      { size: 2, at: (i) => `a${i}` },
      { size: 0, at: () => "never" },
      { size: 3, at: (i) => `b${i}` },
    ]);
    expect(Array.from({ length: u.size }, (_, i) => u.at(i))).toEqual(["a0", "a1", "b0", "b1", "b2"]);
  });
});

describe("generation", () => {
  it("gives exactly count unique rows with the requested split", () => {
    const spaces = toySpaces({ a: 1000, b: 1000, c: 1000 }, { a: 40, b: 30, c: 30 });
    const g = createGeneration("toy", spaces, { count: 1001, seed: 7 });
    const rows = [...g.rows];
    expect(rows.length).toBe(1001);
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(r.category, (counts.get(r.category) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({ a: 401, b: 300, c: 300 });
    expect(new Set(rows.map((r) => JSON.stringify(r))).size).toBe(1001);
    expect(g.stats().duplicates).toBe(0);
  });

  it("skips duplicates after normalization and reports them", () => {
    const spaces: CategorySpace[] = [
      { name: "x", size: 20, weight: 1, at: (i) => ({ instruction: i % 2 ? "Hello  World" : "hello world", output: `v${i >> 1}` }) },
    ];
    const g = createGeneration("dups", spaces, { count: 10, seed: 1 });
    const rows = [...g.rows];
    expect(rows.length).toBe(10);
    expect(g.stats().duplicates).toBeGreaterThan(0);
  });

  it("refuses a count above capacity before producing anything, naming the maximum", () => {
    const spaces = toySpaces({ a: 100, b: 10 });
    let error: unknown;
    try {
      createGeneration("toy", spaces, { count: 50, seed: 1 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CapacityError);
    expect((error as CapacityError).maxCount).toBe(21); // 11 + 10: within one row of the 50/50 split
    expect((error as Error).message).toMatch(/at most 21 unique rows.*category "b" needs 25 but has 10/);
    expect(createGeneration("toy", spaces, { count: 50, seed: 1, distribution: { a: 1 } }).plan.count).toBe(50);
  });

  it("throws a CapacityError when a category runs dry through rejections", () => {
    const spaces: CategorySpace[] = [
      { name: "x", size: 10, weight: 1, at: (i) => (i < 5 ? { instruction: `q${i}`, output: "a" } : undefined) },
    ];
    expect(() => [...createGeneration("rej", spaces, { count: 8, seed: 1 }).rows]).toThrow(/ran out of candidates after 5 unique rows/);
    expect(measureCapacity(spaces).get("x")).toEqual({ size: 10, unique: 5, rejected: 5, duplicates: 0 });
  });

  it("writes instruction and chat rows", async () => {
    const { rows } = await collectRows(toy, { count: 3, seed: 1, format: "chat", system: "Be brief." });
    for (const row of rows) {
      expect(row).toMatchObject({ messages: [{ role: "system", content: "Be brief." }, { role: "user" }, { role: "assistant" }] });
    }
    const inst = await collectRows(toy, { count: 3, seed: 1 });
    expect(Object.keys(inst.rows[0]!)).toEqual(["instruction", "input", "output", "category"]);
  });
});

describe("files and bins", () => {
  it("is byte-identical for a seed and differs for another; creates directories", async () => {
    const dir = await tempDir();
    const paths = [join(dir, "a/b/one.jsonl"), join(dir, "two.jsonl"), join(dir, "three.jsonl")];
    await runGenerator(toy, { count: 200, seed: 3, output: paths[0] });
    await runGenerator(toy, { count: 200, seed: 3, output: paths[1] });
    const s = await runGenerator(toy, { count: 200, seed: 4, output: paths[2] });
    const [a, b, c] = await Promise.all(paths.map((p) => readFile(p, "utf8")));
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(a!.trimEnd().split("\n").length).toBe(200);
    expect(s.bytes).toBe(Buffer.byteLength(c!));
    expect((await readdir(dir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("leaves no file when the count cannot be met", async () => {
    const dir = await tempDir();
    const out = join(dir, "nope.jsonl");
    await expect(runGenerator(toy, { count: 5000, seed: 1, output: out })).rejects.toThrow(CapacityError);
    expect(await readdir(dir)).toEqual([]);
  });

  it("writer aborts cleanly", async () => {
    const dir = await tempDir();
    const w = await createJsonlWriter(join(dir, "x.jsonl"));
    await w.write({ a: 1 });
    await w.abort();
    expect(await readdir(dir)).toEqual([]);
  });

  it("bin flags: --num-examples is --count, kebab and snake both work, errors give exit codes", async () => {
    const specs = [...commonOptions(toy), ...toy.options];
    expect(parseGeneratorArgs(["--num-examples", "7", "--seed=9", "--size", "20"], specs).values).toMatchObject({
      count: 7,
      seed: "9",
      size: 20,
    });
    expect(parseGeneratorArgs(["--num_examples=8"], specs).values.count).toBe(8);
    const dir = await tempDir();
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
    expect(await runGeneratorCli(toy, ["--count", "20", "--output", join(dir, "t.jsonl")], io)).toBe(0);
    expect(out.join("\n")).toMatch(/toy: 20 rows/);
    expect(out.join("\n")).toMatch(/a\s+10\s+50\.0%\s+10\s+50\.0%/);
    expect(await runGeneratorCli(toy, ["--count", "100000", "--output", join(dir, "u.jsonl")], io)).toBe(1);
    expect(err.pop()).toMatch(/at most 202 unique rows/);
    expect(await runGeneratorCli(toy, ["--bogus"], io)).toBe(2);
    expect(await runGeneratorCli(toy, ["--capacity"], io)).toBe(0);
    expect(out.pop()).toMatch(/at most 202 unique rows/);
  });
});
