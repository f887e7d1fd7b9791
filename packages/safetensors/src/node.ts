// Node.js adapters for ByteSource / ByteSink. Nothing else in this package imports node:fs.
import { open, rename, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { ByteSink, ByteSource } from "./io.js";

/** Opens a file for random-access reads. */
export async function openFileSource(path: string): Promise<ByteSource> {
  const handle = await open(path, "r");
  let size: number;
  try {
    size = (await handle.stat()).size;
  } catch (error) {
    await handle.close();
    throw error;
  }
  const readInto = async (offset: number, target: Uint8Array): Promise<void> => {
    if (offset < 0 || offset + target.byteLength > size) {
      throw new RangeError(`${path}: read of ${target.byteLength} bytes at ${offset} is past the end (${size} bytes)`);
    }
    let done = 0;
    while (done < target.byteLength) {
      // fs reads are limited to 2 GiB per call.
      const want = Math.min(target.byteLength - done, 0x40000000);
      const { bytesRead } = await handle.read(target, done, want, offset + done);
      if (bytesRead === 0) throw new RangeError(`${path}: unexpected end of file at ${offset + done}`);
      done += bytesRead;
    }
  };
  return {
    name: path,
    size,
    async read(offset, length) {
      const out = new Uint8Array(length);
      await readInto(offset, out);
      return out;
    },
    readInto,
    async close() {
      await handle.close();
    },
  };
}

/**
 * Writes to `path` through a temporary file in the same directory that is renamed over `path` on commit, so a crash
 * or an error never leaves a torn file under the final name. Small writes are buffered.
 */
export async function openFileSink(path: string, options: { bufferBytes?: number } = {}): Promise<ByteSink & { bytesWritten: number }> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`);
  const handle: FileHandle = await open(temp, "w");
  const capacity = options.bufferBytes ?? 1 << 20;
  const buffer = new Uint8Array(capacity);
  let used = 0;
  let closed = false;
  const flush = async () => {
    if (used > 0) {
      await writeAll(handle, buffer.subarray(0, used));
      used = 0;
    }
  };
  const sink = {
    name: path,
    bytesWritten: 0,
    async write(bytes: Uint8Array) {
      if (closed) throw new Error(`${path}: write after close`);
      sink.bytesWritten += bytes.byteLength;
      if (bytes.byteLength >= capacity) {
        await flush();
        await writeAll(handle, bytes);
        return;
      }
      if (used + bytes.byteLength > capacity) await flush();
      buffer.set(bytes, used);
      used += bytes.byteLength;
    },
    async commit() {
      if (closed) throw new Error(`${path}: already closed`);
      closed = true;
      try {
        await flush();
        await handle.sync();
        await handle.close();
      } catch (error) {
        await unlink(temp).catch(() => {});
        throw error;
      }
      await rename(temp, path);
    },
    async abort() {
      if (closed) return;
      closed = true;
      await handle.close().catch(() => {});
      await unlink(temp).catch(() => {});
    },
  };
  return sink;
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, done, Math.min(bytes.byteLength - done, 0x40000000));
    done += bytesWritten;
  }
}
