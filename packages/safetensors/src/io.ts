// Byte sources and sinks: the only things that touch a file system. The formats (safetensors, GGUF) read and write
// through these interfaces so the same code can run on a Blob or a WritableStream in a browser.

/** Random-access bytes: a file, a Blob, an in-memory buffer. */
export interface ByteSource {
  /** A name for error messages (the file path). */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /** Reads exactly `length` bytes at `offset` (throws if the range is not inside the source). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Reads into `target` (all of it) starting at `offset`. */
  readInto?(offset: number, target: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** A sequential byte sink. `commit` makes the written bytes visible (e.g. renames a temp file); `abort` discards them. */
export interface ByteSink {
  readonly name: string;
  write(bytes: Uint8Array): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** A ByteSource over bytes already in memory. */
export function memorySource(bytes: Uint8Array, name = "<memory>"): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    async read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > bytes.byteLength) {
        throw new RangeError(`${name}: read of ${length} bytes at ${offset} is past the end (${bytes.byteLength} bytes)`);
      }
      return bytes.slice(offset, offset + length);
    },
    async readInto(offset, target) {
      if (offset < 0 || offset + target.byteLength > bytes.byteLength) {
        throw new RangeError(`${name}: read of ${target.byteLength} bytes at ${offset} is past the end (${bytes.byteLength} bytes)`);
      }
      target.set(bytes.subarray(offset, offset + target.byteLength));
    },
    async close() {},
  };
}

/** A ByteSink that collects everything in memory (tests, browsers). `bytes()` returns the committed result. */
export function memorySink(name = "<memory>"): ByteSink & { bytes(): Uint8Array; committed: boolean } {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let result: Uint8Array | undefined;
  return {
    name,
    committed: false,
    async write(bytes) {
      chunks.push(bytes.slice());
      total += bytes.byteLength;
    },
    async commit() {
      const out = new Uint8Array(total);
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.byteLength;
      }
      result = out;
      this.committed = true;
    },
    async abort() {
      chunks.length = 0;
    },
    bytes() {
      if (!result) throw new Error(`${name}: not committed`);
      return result;
    },
  };
}

/** Adapts a WHATWG WritableStream (browser download, OPFS file) as a ByteSink. */
export function writableStreamSink(stream: WritableStream<Uint8Array>, name = "<stream>"): ByteSink {
  const writer = stream.getWriter();
  return {
    name,
    async write(bytes) {
      await writer.write(bytes);
    },
    async commit() {
      await writer.close();
    },
    async abort() {
      await writer.abort();
    },
  };
}

/** Concatenates byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.byteLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
