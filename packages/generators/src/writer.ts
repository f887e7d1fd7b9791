// A streaming JSONL writer (Node): creates the directory, writes through a temporary file, and renames it into
// place only when every row is written, so a failed run never leaves a half file under the real name.
import { createWriteStream, promises as fs, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import type { Writable } from "node:stream";
import { GeneratorError } from "./errors.js";

export interface JsonlWriter {
  /** Queues one row; await it to respect backpressure. */
  write(row: unknown): Promise<void>;
  /** Flushes and (for a file) moves the file into place. */
  close(): Promise<{ rows: number; bytes: number }>;
  /** Stops and removes the temporary file. */
  abort(): Promise<void>;
}

const CHUNK = 1 << 16;

function streamWriter(stream: Writable, finish: () => Promise<void>, cleanup: () => Promise<void>): JsonlWriter {
  let buffer = "";
  let rows = 0;
  let bytes = 0;
  let failure: Error | undefined;
  stream.on("error", (error) => {
    failure = error;
  });
  const flush = async (): Promise<void> => {
    if (failure) throw new GeneratorError(`cannot write output: ${failure.message}`);
    if (!buffer) return;
    const chunk = buffer;
    buffer = "";
    bytes += Buffer.byteLength(chunk);
    if (!stream.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          stream.off("error", onError);
          resolve();
        };
        const onError = (error: Error) => {
          stream.off("drain", onDrain);
          reject(new GeneratorError(`cannot write output: ${error.message}`));
        };
        stream.once("drain", onDrain);
        stream.once("error", onError);
      });
    }
  };
  return {
    async write(row) {
      buffer += JSON.stringify(row) + "\n";
      rows++;
      if (buffer.length >= CHUNK) await flush();
    },
    async close() {
      await flush();
      await finish();
      return { rows, bytes };
    },
    abort: cleanup,
  };
}

/** Writes rows to a file path. */
export async function createJsonlWriter(path: string): Promise<JsonlWriter> {
  const dir = dirname(path);
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (error) {
    throw new GeneratorError(`cannot create directory ${dir}: ${(error as Error).message}`);
  }
  const temp = `${path}.${process.pid}.tmp`;
  const stream: WriteStream = createWriteStream(temp);
  await new Promise<void>((resolve, reject) => {
    stream.once("open", () => resolve());
    stream.once("error", (error) => reject(new GeneratorError(`cannot write ${path}: ${error.message}`)));
  });
  const end = () => new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return streamWriter(
    stream,
    async () => {
      await end();
      await fs.rename(temp, path);
    },
    async () => {
      stream.destroy();
      await fs.rm(temp, { force: true });
    },
  );
}

/** Writes rows to a stream that stays open afterwards (stdout). */
export function createStreamJsonlWriter(stream: Writable): JsonlWriter {
  return streamWriter(
    stream,
    async () => {},
    async () => {},
  );
}
