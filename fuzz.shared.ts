// What every parser's fuzz test asserts (the *.fuzz.spec.ts files): seeded cases, each one either parsed or refused
// with the parser's own error type (no TypeError, RangeError or stack overflow), within a time bound no parser needs
// on inputs this small (so a case that takes longer has hung), and without memory growing by more than small inputs
// explain (so nothing was allocated from a number read from the input before that number was checked).
//
// CI runs a few thousand cases in all with a fixed seed. FUZZ_RUNS=N runs N cases per property, FUZZ_SEED=S another
// seed; each fuzz test prints its counts when FUZZ_RUNS is set.
import fc from "fast-check";

export const fuzzSeed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 16;
const longRun = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : undefined;

/** Cases per property: `ci` by default, FUZZ_RUNS when set. */
export const fuzzRuns = (ci: number): number => longRun ?? ci;

/** Generous for a loaded 2-core machine: a parser that needs this long for a few kilobytes has hung. */
export const CASE_SECONDS = 10;
/** Heap and buffers a case may add: a few kilobytes of input never explain this much. */
const CASE_BYTES = 256 * 2 ** 20;

export interface FuzzStats {
  cases: number;
  parsed: number;
  refused: number;
  /** Refusals by message, the file/field part cut off, for the long-run report. */
  reasons: Map<string, number>;
}

export const newStats = (): FuzzStats => ({ cases: 0, parsed: 0, refused: 0, reasons: new Map() });

const inUse = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers + m.external;
};

function countRefusal(stats: FuzzStats, message: string): void {
  stats.refused++;
  const reason = message
    .replace(/^.*?: /, "")
    .replace(/\d+/g, "N")
    .slice(0, 60);
  stats.reasons.set(reason, (stats.reasons.get(reason) ?? 0) + 1);
}

/**
 * Runs one case: `parse` must return (a string: the input was refused without an error, for that reason) or throw an
 * error that `typed` accepts, within CASE_SECONDS and without using
 * CASE_BYTES more memory than before it. Anything else fails the property with what happened.
 */
export async function fuzzCase(stats: FuzzStats, typed: (error: unknown) => boolean, parse: () => unknown): Promise<void> {
  const before = inUse();
  const started = performance.now();
  stats.cases++;
  try {
    const refusal = await parse();
    if (typeof refusal === "string") countRefusal(stats, refusal);
    else stats.parsed++;
  } catch (error) {
    if (!typed(error)) throw error;
    countRefusal(stats, String((error as Error).message));
  }
  const seconds = (performance.now() - started) / 1000;
  if (seconds > CASE_SECONDS) throw new Error(`a case took ${seconds.toFixed(1)} s (bound ${CASE_SECONDS} s): the parser hangs on it`);
  const grown = inUse() - before;
  if (grown > CASE_BYTES)
    throw new Error(`a case used ${(grown / 2 ** 20).toFixed(0)} MiB more memory (bound ${CASE_BYTES / 2 ** 20} MiB)`);
}

/** fast-check's parameters for a fuzz property. */
export const fuzzParameters = (ci: number) => ({ numRuns: fuzzRuns(ci), seed: fuzzSeed, endOnFailure: true });

/** Prints the counts of a long run (FUZZ_RUNS set). */
export function reportFuzz(name: string, stats: FuzzStats): void {
  if (longRun === undefined) return;
  const top = [...stats.reasons].sort((a, b) => b[1] - a[1]).slice(0, 6);
  console.log(
    `fuzz ${name}: ${stats.cases} cases (seed ${fuzzSeed}), ${stats.parsed} parsed, ${stats.refused} refused` +
      (top.length ? `; most common refusals: ${top.map(([r, n]) => `${n}× "${r}"`).join(", ")}` : ""),
  );
}

/** Numbers a hostile file puts in its length and count fields. */
export const hostileInteger = fc.oneof(
  fc.constantFrom(0, 1, -1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 1e9, 1e12, 1e15, 1e30, -(2 ** 31)),
  fc.integer({ min: -1000, max: 100_000 }),
);

/** Any JSON value, with hostile numbers and long strings more often than chance would give them. */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: hostileInteger },
  { weight: 1, arbitrary: fc.constantFrom(0.5, -0.5, 1e-300, Number.MAX_VALUE, "", "x".repeat(5000), null, true, [], {}) },
);

/** Byte-level damage to a valid file: flips, overwritten spans, hostile u32/u64 fields, truncation, appended junk. */
export function damaged(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const position = fc.nat({ max: Math.max(0, valid.length - 1) });
  const edit = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("byte" as const), at: position, value: fc.nat({ max: 255 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("u32" as const), at: position, value: hostileInteger }) },
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant("u64" as const), at: position, value: fc.oneof(hostileInteger, fc.constant(-1)) }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("cut" as const), at: position, value: fc.constant(0) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("junk" as const), at: position, value: fc.nat({ max: 64 }) }) },
  );
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let bytes = valid.slice();
    for (const e of edits) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (e.kind === "byte" && e.at < bytes.length) bytes[e.at] = e.value;
      else if (e.kind === "u32" && e.at + 4 <= bytes.length) view.setUint32(e.at, e.value >>> 0, true);
      else if (e.kind === "u64" && e.at + 8 <= bytes.length) view.setBigUint64(e.at, BigInt.asUintN(64, BigInt(Math.trunc(e.value))), true);
      else if (e.kind === "cut") bytes = bytes.slice(0, e.at);
      else if (e.kind === "junk") {
        const grown = new Uint8Array(bytes.length + e.value);
        grown.set(bytes);
        for (let i = bytes.length; i < grown.length; i++) grown[i] = (i * 131 + e.at) & 0xff;
        bytes = grown;
      }
    }
    return bytes;
  });
}
