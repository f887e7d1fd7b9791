// Our export against ggml's own quantizer on the same F32 input and thread count, each side in its own child process
// under /usr/bin/time -v: used by bench/export.bench.ts, and importable by other benches (the whole-job bench):
//   const r = await exportVsGgml({ modelDir, mix: "Q4_K_M", threads: 2, ours: "a.gguf", theirs: "b.gguf" });
//   r.ours.seconds / r.ggml.seconds, r.stats (our stage times), r.same ("yes (N tensors)" or what differs)
// ours  = convertHfToGguf (what `neural export` runs) on a QuantizePool of `threads` threads;
// ggml  = llama_model_quantize (node-llama-cpp's bundled llama.cpp, via @neural/llama) with nthread = `threads`, on the
//         F32 GGUF of the same model (`f32Gguf`, written by our F32 export when not given).
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
// Each child loads only what its side needs (their start-up is part of the time measured).
import type { OutType, StreamStats } from "@neural/gguf-writer";

const self = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(self), "..");
const tsx = path.join(root, "node_modules", ".bin", "tsx");

/** Child: our export, printing its stage times as the last line (JSON). */
async function childOurs(dir: string, out: string, mix: OutType, threads: number): Promise<void> {
  const { convertHfToGguf } = await import("@neural/gguf-writer");
  const { QuantizePool } = await import("@neural/quantize/parallel");
  const pool = threads > 1 ? new QuantizePool({ threads }) : undefined;
  const stats = {} as StreamStats;
  try {
    await convertHfToGguf({ modelDir: dir, output: out, outType: mix, stats, ...(pool ? { pool } : {}) });
  } finally {
    await pool?.close();
  }
  console.log(JSON.stringify(stats));
}

export interface Timed {
  seconds: number;
  maxRssMiB: number;
  stdout: string;
}

export function timed(command: string[]): Timed {
  const res = spawnSync("/usr/bin/time", ["-v", ...command], { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 });
  if (res.status !== 0) throw new Error(`${command.join(" ")} failed (${res.status}):\n${res.stdout}\n${res.stderr}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(res.stderr);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(res.stderr);
  if (!rss || !wall) throw new Error(`cannot parse /usr/bin/time output:\n${res.stderr}`);
  return {
    seconds: Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]),
    maxRssMiB: Number(rss[1]) / 1024,
    stdout: res.stdout,
  };
}

/** Whether two GGUF files hold the same tensors: names, types, shapes and bytes. */
export async function sameTensors(a: string, b: string): Promise<string> {
  const { openGguf } = await import("@neural/gguf-writer");
  const [ra, rb] = [await openGguf(a), await openGguf(b)];
  try {
    if (ra.tensors.length !== rb.tensors.length) return `no: ${ra.tensors.length} vs ${rb.tensors.length} tensors`;
    for (const t of ra.tensors) {
      const u = rb.tensors.find((x) => x.name === t.name);
      if (!u || u.type !== t.type || u.ne.join() !== t.ne.join()) return `no: ${t.name} differs in type or shape`;
      if (Buffer.compare(Buffer.from(await ra.readTensorBytes(t.name)), Buffer.from(await rb.readTensorBytes(t.name))) !== 0)
        return `no: ${t.name} bytes differ`;
    }
    return `yes (${ra.tensors.length} tensors)`;
  } finally {
    await ra.close();
    await rb.close();
  }
}

export interface ExportVsGgml {
  ggml: Timed;
  ours: Timed;
  stats: StreamStats;
  same: string;
  /** Writing the F32 GGUF for ggml, when this call did it. */
  f32Seconds?: number;
}

/** Runs both exports of `modelDir` to `mix` (ggml first), compares their tensors, and leaves both files. */
export async function exportVsGgml(o: {
  modelDir: string;
  mix: OutType;
  threads: number;
  ours: string;
  theirs: string;
  f32Gguf?: string;
}): Promise<ExportVsGgml> {
  const { FILE_TYPE_OF, convertHfToGguf } = await import("@neural/gguf-writer");
  let f32 = o.f32Gguf;
  let f32Seconds: number | undefined;
  if (!f32) {
    f32 = `${o.theirs}.f32-input.gguf`;
    const t0 = performance.now();
    await convertHfToGguf({ modelDir: o.modelDir, output: f32, outType: "F32" });
    f32Seconds = (performance.now() - t0) / 1000;
  }
  try {
    const ggml = timed([tsx, "--conditions=source", self, "--ggml", f32, o.theirs, String(FILE_TYPE_OF[o.mix]), String(o.threads)]);
    const ours = timed([tsx, "--conditions=source", self, "--ours", o.modelDir, o.ours, o.mix, String(o.threads)]);
    const stats = JSON.parse(ours.stdout.trim().split("\n").pop()!) as StreamStats;
    return { ggml, ours, stats, same: await sameTensors(o.ours, o.theirs), ...(f32Seconds !== undefined ? { f32Seconds } : {}) };
  } finally {
    if (!o.f32Gguf) rmSync(f32, { force: true });
  }
}

const args = process.argv.slice(2);
if (path.resolve(process.argv[1] ?? "") === self) {
  if (args[0] === "--ours") await childOurs(args[1]!, args[2]!, args[3] as OutType, Number(args[4]));
  else if (args[0] === "--ggml") (await import("@neural/llama")).ggmlModelQuantize(args[1]!, args[2]!, Number(args[3]), Number(args[4]));
}
