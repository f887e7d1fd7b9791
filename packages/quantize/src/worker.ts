// Worker-thread side of QuantizePool (./parallel.ts): quantizes one row range per message.
import { parentPort } from "node:worker_threads";
import { quantizeRowsInto } from "./quantize.js";
import { NonFiniteWeightError, rowBytes, type SupportedType } from "./types.js";

export interface QuantizeJob {
  id: number;
  type: SupportedType;
  nPerRow: number;
  /** The rows to quantize (transferred to the worker). */
  data: Float32Array;
  name: string;
  /** Index of data[0] within its tensor, for error messages. */
  indexBase: number;
  allowNonFinite?: boolean;
}

export type QuantizeReply =
  | { id: number; ms: number; ok: true; bytes: Uint8Array }
  | {
      id: number;
      ms: number;
      ok: false;
      error: { name: string; message: string; tensor?: string; index?: number; value?: number; overflows?: string };
    };

const port = parentPort;
if (port) {
  port.on("message", (job: QuantizeJob) => {
    const started = performance.now();
    try {
      const bytes = new Uint8Array((job.data.length / job.nPerRow) * rowBytes(job.type, job.nPerRow));
      quantizeRowsInto(job.type, job.data, job.nPerRow, bytes, 0, {
        name: job.name,
        indexBase: job.indexBase,
        allowNonFinite: job.allowNonFinite ?? false,
      });
      const reply: QuantizeReply = { id: job.id, ms: performance.now() - started, ok: true, bytes };
      port.postMessage(reply, [bytes.buffer]);
    } catch (err) {
      const e = err as Error;
      const reply: QuantizeReply = {
        id: job.id,
        ms: performance.now() - started,
        ok: false,
        error:
          e instanceof NonFiniteWeightError
            ? { name: e.name, message: e.message, tensor: e.tensor, index: e.index, value: e.value, overflows: e.overflows }
            : { name: e.name, message: e.message },
      };
      port.postMessage(reply);
    }
  });
}
