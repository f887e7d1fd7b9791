// @neural/quantize/parallel: the same quantizers on Node worker threads. Rows are independent in every ggml type
// (no importance matrix), so splitting a tensor at row boundaries gives the single-thread bytes exactly.
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { NonFiniteWeightError, QuantizeError, isSupportedType, rowBytes, type SupportedType } from "./types.js";
import type { QuantizeJob, QuantizeReply } from "./worker.js";

export interface QuantizePoolOptions {
  /** Worker threads (default: availableParallelism()). */
  threads?: number;
}

export interface PoolQuantizeOptions {
  /** Tensor name for error messages. */
  name?: string;
  /** Rows per job (default: the rows split evenly over the threads, at least 1). */
  rowsPerJob?: number;
  /** Index of data[0] within its tensor, for error messages (default 0). */
  indexBase?: number;
  /** Write NaN, infinities and overflowing values instead of throwing NonFiniteWeightError (see quantizeRows). */
  allowNonFinite?: boolean;
  /**
   * The caller hands `data` over: when it is one job and spans its whole buffer, that buffer is moved to the worker
   * (and detached here) instead of copied.
   */
  transfer?: boolean;
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

interface Pending {
  resolve: (b: Uint8Array) => void;
  reject: (e: Error) => void;
}

function workerFor(): Worker {
  const here = import.meta.url;
  if (here.endsWith(".ts")) {
    // running from the TypeScript sources (tests, `tsx --conditions=source`): load the worker through tsx
    const require = createRequire(here);
    // (tsx's ESM entry of its register API sits beside the CommonJS one that require.resolve finds)
    const tsxApi = require.resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs");
    const workerUrl = new URL("./worker.ts", here).href;
    const code =
      `import(${JSON.stringify(pathToFileURL(tsxApi).href)})` +
      `.then((m) => { m.register(); return import(${JSON.stringify(workerUrl)}); });`;
    return new Worker(code, { eval: true });
  }
  return new Worker(new URL("./worker.js", here));
}

/**
 * A pool of worker threads that quantize row ranges. Results are byte-identical to quantizeRows.
 * Call close() when done (the workers keep Node alive otherwise).
 */
export class QuantizePool {
  readonly threads: number;
  private readonly slots: Slot[] = [];
  private readonly queue: { job: QuantizeJob; transfer: ArrayBuffer[] }[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private workerMs = 0;

  constructor(options: QuantizePoolOptions = {}) {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) throw new QuantizeError(`bad thread count ${threads}`);
    this.threads = threads;
    for (let i = 0; i < threads; i++) {
      const worker = workerFor();
      const slot: Slot = { worker, busy: false };
      worker.on("message", (reply: QuantizeReply) => this.onReply(slot, reply));
      worker.on("error", (err) => this.failAll(err instanceof Error ? err : new QuantizeError(String(err))));
      worker.unref();
      this.slots.push(slot);
    }
  }

  /** Milliseconds the workers have spent quantizing so far, summed over threads. */
  get busyMs(): number {
    return this.workerMs;
  }

  private onReply(slot: Slot, reply: QuantizeReply): void {
    slot.busy = false;
    this.workerMs += reply.ms;
    const p = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (p) {
      if (reply.ok) p.resolve(reply.bytes);
      else {
        const e = reply.error;
        p.reject(
          e.name === "NonFiniteWeightError" && e.tensor !== undefined
            ? new NonFiniteWeightError(e.tensor, e.index ?? -1, e.value ?? Number.NaN, e.overflows)
            : new QuantizeError(e.message),
        );
      }
    }
    this.pump();
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.queue.length = 0;
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const next = this.queue.shift();
      if (!next) break;
      slot.busy = true;
      slot.worker.ref();
      slot.worker.postMessage(next.job, next.transfer);
    }
    if (this.pending.size === 0) for (const s of this.slots) s.worker.unref();
  }

  private submit(job: QuantizeJob): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new QuantizeError("the pool is closed"));
    return new Promise((resolve, reject) => {
      this.pending.set(job.id, { resolve, reject });
      this.queue.push({ job, transfer: [job.data.buffer as ArrayBuffer] });
      this.pump();
    });
  }

  /**
   * Quantizes one row range of a tensor (`data`: whole rows; `indexBase`: the index of data[0] in the tensor, for
   * error messages) as one job. Copies its input unless `transfer` (then `data` must span its whole buffer, which
   * is moved to the worker).
   */
  quantizeRange(
    type: SupportedType,
    data: Float32Array,
    nPerRow: number,
    name = "(unnamed)",
    indexBase = 0,
    transfer = false,
    allowNonFinite = false,
  ): Promise<Uint8Array> {
    if (!isSupportedType(type)) return Promise.reject(new QuantizeError(`unsupported ggml type ${type}`));
    try {
      rowBytes(type, nPerRow);
    } catch (e) {
      return Promise.reject(e);
    }
    if (nPerRow === 0 || data.length % nPerRow !== 0) {
      return Promise.reject(new QuantizeError(`${data.length} values are not whole rows of ${nPerRow}`));
    }
    const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && !(data.buffer instanceof SharedArrayBuffer);
    return this.submit({
      id: this.nextId++,
      type,
      nPerRow,
      data: transfer && whole ? data : data.slice(),
      name,
      indexBase,
      allowNonFinite,
    });
  }

  /** quantizeRows on the pool: the tensor is split into row ranges, one job per range. */
  async quantizeRows(type: SupportedType, data: Float32Array, nPerRow: number, options: PoolQuantizeOptions = {}): Promise<Uint8Array> {
    if (!isSupportedType(type)) throw new QuantizeError(`unsupported ggml type ${type}`);
    const perRow = rowBytes(type, nPerRow);
    if (nPerRow === 0 || data.length % nPerRow !== 0) {
      throw new QuantizeError(`${data.length} values are not whole rows of ${nPerRow}`);
    }
    const rows = data.length / nPerRow;
    if (rows === 0) return new Uint8Array(0);
    const rowsPerJob = options.rowsPerJob ?? Math.max(1, Math.ceil(rows / this.threads));
    const name = options.name ?? "(unnamed)";
    const indexBase = options.indexBase ?? 0;
    const allowNonFinite = options.allowNonFinite ?? false;
    if (rowsPerJob >= rows) return this.quantizeRange(type, data, nPerRow, name, indexBase, options.transfer, allowNonFinite);
    // each range is copied once and transferred (V8 copies into and out of SharedArrayBuffers far more slowly)
    const out = new Uint8Array(rows * perRow);
    const jobs: Promise<void>[] = [];
    for (let r = 0; r < rows; r += rowsPerJob) {
      const n = Math.min(rowsPerJob, rows - r);
      const slice = data.subarray(r * nPerRow, (r + n) * nPerRow);
      jobs.push(
        this.quantizeRange(type, slice, nPerRow, name, indexBase + r * nPerRow, false, allowNonFinite).then((b) => out.set(b, r * perRow)),
      );
    }
    await Promise.all(jobs);
    return out;
  }

  /**
   * Streaming: quantizes each chunk of whole rows as it arrives and yields the bytes in order, with at most
   * `2 × threads` chunks in flight, so a tensor never has to be in memory at once.
   */
  async *quantizeStream(
    type: SupportedType,
    chunks: AsyncIterable<Float32Array> | Iterable<Float32Array>,
    nPerRow: number,
    options: { name?: string } = {},
  ): AsyncGenerator<Uint8Array> {
    const name = options.name ?? "(unnamed)";
    const inFlight: Promise<Uint8Array>[] = [];
    let index = 0;
    for await (const chunk of chunks) {
      const job = this.quantizeRange(type, chunk, nPerRow, name, index);
      job.catch(() => undefined); // rejections surface when the job is awaited, in order
      inFlight.push(job);
      index += chunk.length;
      if (inFlight.length >= 2 * this.threads) yield await inFlight.shift()!;
    }
    while (inFlight.length) yield await inFlight.shift()!;
  }

  /** Stops the workers. Pending jobs are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new QuantizeError("the pool was closed"));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
