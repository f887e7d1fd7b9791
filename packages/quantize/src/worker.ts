// Worker-thread side of QuantizePool (./parallel.ts): quantizes one row range per message.
import { parentPort } from "node:worker_threads";
import { quantizeRowsInto } from "./quantize.js";
import { NonFiniteWeightError, rowBytes, type SupportedType } from "./types.js";

export interface QuantizeJob {
  id: number;
  type: SupportedType;
  nPerRow: number;
  /** The rows to quantize (transferred), or a range of a SharedArrayBuffer. */
  data: Float32Array | { buffer: SharedArrayBuffer; start: number; length: number };
  /** Where to write the bytes when the input is shared: a SharedArrayBuffer and a byte offset. */
  output?: { buffer: SharedArrayBuffer; offset: number };
  name: string;
  /** Index of data[0] within its tensor, for error messages. */
  indexBase: number;
}

export type QuantizeReply =
  | { id: number; ok: true; bytes?: Uint8Array }
  | { id: number; ok: false; error: { name: string; message: string; tensor?: string; index?: number; value?: number } };

const port = parentPort;
if (port) {
  port.on("message", (job: QuantizeJob) => {
    try {
      const opts = { name: job.name, indexBase: job.indexBase };
      if (job.data instanceof Float32Array) {
        const bytes = new Uint8Array((job.data.length / job.nPerRow) * rowBytes(job.type, job.nPerRow));
        quantizeRowsInto(job.type, job.data, job.nPerRow, bytes, 0, opts);
        const reply: QuantizeReply = { id: job.id, ok: true, bytes };
        port.postMessage(reply, [bytes.buffer]);
      } else {
        const x = new Float32Array(job.data.buffer, job.data.start * 4, job.data.length);
        quantizeRowsInto(job.type, x, job.nPerRow, new Uint8Array(job.output!.buffer), job.output!.offset, opts);
        const reply: QuantizeReply = { id: job.id, ok: true };
        port.postMessage(reply);
      }
    } catch (err) {
      const e = err as Error;
      const reply: QuantizeReply = {
        id: job.id,
        ok: false,
        error:
          e instanceof NonFiniteWeightError
            ? { name: e.name, message: e.message, tensor: e.tensor, index: e.index, value: e.value }
            : { name: e.name, message: e.message },
      };
      port.postMessage(reply);
    }
  });
}
