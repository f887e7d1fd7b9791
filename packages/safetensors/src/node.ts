// Node.js adapters for ByteSource / ByteSink. Nothing else in this package imports node:fs.
import { open, readdir, rename, rm, unlink, type FileHandle } from "node:fs/promises";
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
      const { bytesRead } = await handle.read(target, done, want, offset + done).catch((error: NodeJS.ErrnoException) => {
        error.path ??= path; // a read's own error names no file (EISDIR: a folder opened as a file)
        throw error;
      });
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
  const temp = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`,
  );
  const handle: FileHandle = await open(temp, "w");
  const capacity = options.bufferBytes ?? 1 << 20;
  const buffer = new Uint8Array(capacity);
  let used = 0;
  let closed = false;
  const flush = async () => {
    if (used > 0) {
      await writeAll(handle, buffer.subarray(0, used), path);
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
        await writeAll(handle, bytes, path);
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
      try {
        await rename(temp, path);
      } catch (error) {
        await unlink(temp).catch(() => {});
        throw error;
      }
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

/** Writes all of `bytes`; a failure (a full disk) names `path`, which a write's own error does not. */
async function writeAll(handle: FileHandle, bytes: Uint8Array, path: string): Promise<void> {
  try {
    await writeAllBytes(handle, bytes);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.path === undefined) e.path = path;
    throw error;
  }
}

async function writeAllBytes(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, done, Math.min(bytes.byteLength - done, 0x40000000));
    done += bytesWritten;
  }
}

/**
 * The process id in the name of a temporary file our writers leave while they write: openFileSink's
 * `.NAME.PID.STAMP.tmp`, and `NAME.tmp-PID…` / `NAME.tmp-removing-PID…` (a small file written then renamed, a
 * checkpoint folder being written or deleted). Undefined for other names.
 */
export function tempFileOwner(name: string): number | undefined {
  const m = /^\..+\.(\d+)\.[0-9a-z]+\.tmp$/.exec(name) ?? /\.tmp-(?:removing-)?(\d+)(?:-\d+)?$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Whether process `pid` is alive on this machine (one we may not signal is alive too). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes the temporary files and folders in `dir` left by writers whose process has died; returns their names. */
export async function removeDeadTempFiles(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = tempFileOwner(name);
    if (pid === undefined || pid === process.pid || processAlive(pid)) continue;
    await rm(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
