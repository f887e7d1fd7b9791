// Quantize throughput (MB/s of f32 input): @neural/quantize against ggml's own quantizer (ggml_quantize_chunk of
// the libggml-base.so that node-llama-cpp ships, through koffi) in the same process, same data, same thread count.
// 1 thread: quantizeRows vs ggmlQuantize. 2 threads: QuantizePool(2) vs ggml called on 2 row ranges at once from
// 2 koffi worker threads. Runs alternate ours/ggml; figures are medians. Every result is checked byte for byte.
//   npx tsx --conditions=source bench/quantize.bench.ts [--values 4194304] [--repeats 7] [--types q8_0,q4_k] [--no-write]
import { ggmlQuantize, ggmlQuantizeAsync } from "@neural/llama";
import { GgmlType, TYPE_NAME, quantizeRows, setQuantizeBackend, type SupportedType } from "@neural/quantize";
import { QuantizePool } from "@neural/quantize/parallel";
import { loadavg } from "node:os";
import { machine, writeSection } from "./results.js";

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg("values", 1 << 22);
const REPEATS = arg("repeats", 7);
const N_PER_ROW = 4096;
const ALL_TYPES: SupportedType[] = [GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K];
const typesArg = process.argv.indexOf("--types");
const TYPES =
  typesArg >= 0
    ? ALL_TYPES.filter((t) => process.argv[typesArg + 1]!.toLowerCase().split(",").includes(TYPE_NAME[t].toLowerCase()))
    : ALL_TYPES;

// weight-like data: gaussian, σ = 0.02, with a few heavier rows
let s = 0x2545f491;
const rnd = (): number => {
  s ^= s << 13;
  s >>>= 0;
  s ^= s >>> 17;
  s ^= s << 5;
  s >>>= 0;
  return s / 4294967296;
};
const x = new Float32Array(N);
for (let i = 0; i < N; i++) {
  const g = Math.sqrt(-2 * Math.log(rnd() + 1e-300)) * Math.cos(2 * Math.PI * rnd());
  x[i] = g * (Math.floor(i / N_PER_ROW) % 17 === 0 ? 0.2 : 0.02);
}
const MB = (N * 4) / 1e6;

const median = (a: number[]): number => {
  const b = [...a].sort((p, q) => p - q);
  return b[b.length >> 1]!;
};
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

async function time(f: () => Uint8Array | Promise<Uint8Array>): Promise<[number, Uint8Array]> {
  const t0 = performance.now();
  const out = await f();
  return [performance.now() - t0, out];
}

interface Row {
  type: string;
  threads: number;
  kernels: string;
  ggml: number;
  ours: number;
}
const rows: Row[] = [];

async function compare(
  type: SupportedType,
  threads: number,
  kernels: string,
  ours: () => Uint8Array | Promise<Uint8Array>,
  theirs: () => Uint8Array | Promise<Uint8Array>,
  repeats: number,
): Promise<void> {
  const tg: number[] = [];
  const to: number[] = [];
  for (let w = 0; w < 3; w++) {
    // warm-up: JIT, worker start, wasm compile and tier-up (in each worker too)
    await ours();
    await theirs();
  }
  for (let r = 0; r < repeats; r++) {
    const [a, qa] = await time(theirs);
    const [b, qb] = await time(ours);
    if (!same(qa, qb)) throw new Error(`${TYPE_NAME[type]}: bytes differ from ggml`);
    tg.push(a);
    to.push(b);
  }
  const row = { type: TYPE_NAME[type], threads, kernels, ggml: MB / (median(tg) / 1000), ours: MB / (median(to) / 1000) };
  rows.push(row);
  console.log(
    `${row.type.padEnd(5)} ${threads} thread${threads > 1 ? "s" : " "} ${kernels.padEnd(4)}  ggml ${row.ggml.toFixed(1).padStart(7)} MB/s   ours ${row.ours.toFixed(1).padStart(7)} MB/s   ours/ggml ${(row.ours / row.ggml).toFixed(2)}×`,
  );
}

async function main(): Promise<void> {
  console.log(`${machine()}; ${N.toLocaleString("en-US")} f32 values (${MB.toFixed(1)} MB), rows of ${N_PER_ROW}, ${REPEATS} runs each`);
  const half = (N / N_PER_ROW / 2) * N_PER_ROW;
  const pool = new QuantizePool({ threads: 2 });
  try {
    for (const type of TYPES) {
      await compare(
        type,
        1,
        "wasm",
        () => quantizeRows(type, x, N_PER_ROW),
        () => ggmlQuantize(type, x, N_PER_ROW),
        REPEATS,
      );
      await compare(
        type,
        2,
        "wasm",
        () => pool.quantizeRows(type, x, N_PER_ROW),
        async () => {
          const [a, b] = await Promise.all([
            ggmlQuantizeAsync(type, x.subarray(0, half), N_PER_ROW),
            ggmlQuantizeAsync(type, x.subarray(half), N_PER_ROW),
          ]);
          const out = new Uint8Array(a.length + b.length);
          out.set(a);
          out.set(b, a.length);
          return out;
        },
        REPEATS,
      );
    }
    // the pure-JavaScript fallback (browsers that refuse synchronous WebAssembly compilation), 1 thread, fewer runs
    setQuantizeBackend("js");
    for (const type of TYPES) {
      await compare(
        type,
        1,
        "js",
        () => quantizeRows(type, x, N_PER_ROW),
        () => ggmlQuantize(type, x, N_PER_ROW),
        3,
      );
    }
    setQuantizeBackend("auto");
  } finally {
    await pool.close();
  }
  const rssMiB = process.resourceUsage().maxRSS / 1024;
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(" / ");
  console.log(`peak RSS ${rssMiB.toFixed(0)} MiB; load average (1/5/15 min) at the end: ${load}`);

  if (process.argv.includes("--no-write")) return;
  const table = rows
    .map(
      (r) =>
        `| ${r.type} | ${r.threads} | ${r.kernels} | ${r.ggml.toFixed(1)} | ${r.ours.toFixed(1)} | **${(r.ours / r.ggml).toFixed(2)}×** |`,
    )
    .join("\n");
  writeSection(
    "Quantize throughput",
    `Machine: ${machine()}, **2 cores shared with other sessions** (load average ${load} at the end of this run; absolute figures move a lot between runs, the ratio is what counts: both sides are measured alternately in the same process). ` +
      `Command: \`npx tsx --conditions=source bench/quantize.bench.ts\` (bench/quantize.bench.ts). Measured ${new Date().toISOString().slice(0, 10)}.\n\n` +
      `Input: ${N.toLocaleString("en-US")} f32 values (${MB.toFixed(1)} MB, gaussian weights, rows of ${N_PER_ROW}); MB/s of f32 input, median of ${REPEATS} runs (3 for the JS kernels), runs alternating ours/ggml; every output checked byte-identical to ggml's. ` +
      `Anchor: ggml's ggml_quantize_chunk (libggml-base.so of @node-llama-cpp/linux-x64 3.21.1, via koffi, no imatrix — the path llama-quantize takes). ` +
      `2 threads: ours = QuantizePool (2 worker threads, input copied to them), ggml = two ggml_quantize_chunk calls on the two row halves at once on koffi's worker threads. ` +
      `"wasm" = the default kernels (WebAssembly, f32 + SIMD); "js" = the pure-JavaScript fallback. Goal: ours/ggml ≥ 1.0.\n\n` +
      `| type | threads | kernels | ggml MB/s | ours MB/s | ours/ggml |\n|---|---|---|---|---|---|\n${table}\n\n` +
      `Peak RSS of the benchmark process: ${rssMiB.toFixed(0)} MiB (the ${MB.toFixed(0)} MB input, outputs of both sides, 2 workers).`,
  );
  console.log("wrote the Quantize throughput section of bench/RESULTS.md");
}

await main();
