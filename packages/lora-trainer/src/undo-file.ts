// undo()'s state in a scratch file instead of RAM. For full fine-tuning it is two copies of every weight (the
// tensors before the last update and that update's gradients): written once per step and read back once (the next
// update folds the gradients into the moments), so RAM holds the tensors, the moments and one step's gradients.
import { closeSync, mkdirSync, openSync, readSync, statfsSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";
import { memoryUndoStore, TrainingError, undoInFile, type UndoStore } from "./optimizer.js";
import { trainableValueCount, type TrainableParam } from "./train-step.js";

const PIECE_VALUES = 1 << 20;
const IO_BYTES = 1 << 26;

/**
 * The undo store a run uses: a scratch file in `dir` for large trainable state (or when `inFile` says so), memory
 * otherwise, or (with a note saying so) when the file system under `dir` has not the room.
 */
export function undoStoreFor(
  params: readonly TrainableParam[],
  dir: string,
  inFile = undoInFile(params),
): { store: UndoStore; note?: string } {
  if (!inFile) return { store: memoryUndoStore() };
  const file = path.join(dir, `undo-${process.pid}.bin`);
  const bytes = 8 * trainableValueCount(params);
  const free = freeBytes(dir);
  if (free !== undefined && free < bytes + ROOM_TO_SPARE) {
    const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;
    return {
      store: memoryUndoStore(),
      note: `${dir}: ${mib(free)} free, the state that undoes a diverged step needs ${mib(bytes)}: it stays in memory`,
    };
  }
  return { store: fileUndoStore(params, file) };
}

/** What else a run writes beside the undo file before its end (metrics, temp files), roughly. */
const ROOM_TO_SPARE = 64 * 2 ** 20;

/** Free bytes for an unprivileged writer on the file system that holds `dir` (or its nearest existing parent). */
function freeBytes(dir: string): number | undefined {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    try {
      const s = statfsSync(at);
      return s.bavail * s.bsize;
    } catch {
      if (path.dirname(at) === at) return undefined;
    }
  }
}

/**
 * An UndoStore in the file `file` (two float32 slots per parameter), created at the first update. The name is
 * unlinked as soon as the file is open where the system allows it, so a run that dies leaves nothing behind.
 */
export function fileUndoStore(params: readonly TrainableParam[], file: string, pieceValues = PIECE_VALUES): UndoStore {
  const slots = new Map<string, { before: number; grads: number; bytes: number }>();
  let end = 0;
  for (const p of params) {
    const bytes = 4 * trainableValueCount([p]);
    slots.set(p.name, { before: end, grads: end + bytes, bytes });
    end += 2 * bytes;
  }
  const failed = (what: string, error: unknown): never => {
    throw new TrainingError(`${file}: cannot ${what} the state that undoes a diverged step: ${(error as Error).message}`);
  };
  let fd: number | undefined;
  let linked = false;
  const open = (): number => {
    if (fd !== undefined) return fd;
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      fd = openSync(file, "w+");
    } catch (error) {
      failed("create", error);
    }
    try {
      unlinkSync(file);
    } catch {
      linked = true; // Windows keeps the name of an open file: close() removes it
    }
    return fd!;
  };
  const slot = (name: string) => slots.get(name)!;
  const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const write = (data: Float32Array, at: number) => {
    const [bytes, handle] = [bytesOf(data), open()];
    try {
      for (let done = 0; done < bytes.length;) done += writeSync(handle, bytes, done, Math.min(IO_BYTES, bytes.length - done), at + done);
    } catch (error) {
      failed("write", error);
    }
  };
  const read = (into: Float32Array, at: number) => {
    const [bytes, handle] = [bytesOf(into), open()];
    try {
      for (let done = 0; done < bytes.length;) {
        const n = readSync(handle, bytes, done, Math.min(IO_BYTES, bytes.length - done), at + done);
        if (n === 0) throw new Error("the file ended early");
        done += n;
      }
    } catch (error) {
      failed("read", error);
    }
  };
  let piece: Float32Array | undefined;
  return {
    keepBefore: (name, value) => write(value, slot(name).before),
    restoreBefore: (name, into) => read(into, slot(name).before),
    keepGrads: (name, grads) => write(grads, slot(name).grads),
    eachGradPiece(name, use) {
      const { grads, bytes } = slot(name);
      const count = bytes / 4;
      piece ??= new Float32Array(pieceValues);
      for (let at = 0; at < count; at += piece.length) {
        const part = piece.subarray(0, Math.min(piece.length, count - at));
        read(part, grads + 4 * at);
        use(part, at);
      }
    },
    close() {
      if (fd === undefined) return;
      closeSync(fd);
      fd = undefined;
      if (linked) unlinkSync(file);
    },
  };
}
