// quantizeRows / dequantizeRows: the dispatch over ggml types, with argument checks and the non-finite weight check.
import {
  BLOCK_BYTES,
  BLOCK_SIZE,
  GgmlType,
  NonFiniteWeightError,
  QuantizeError,
  TYPE_NAME,
  isSupportedType,
  rowBytes,
  type SupportedType,
} from "./types.js";
import { f32BitsToBf16, f32BitsToF16 } from "./half.js";
import { wasmQuantize } from "./wasm.js";
import { quantizeQ4_0, quantizeQ5_0, quantizeQ5_1, quantizeQ8_0 } from "./legacy.js";
import { quantizeQ4_K, quantizeQ5_K, quantizeQ6_K } from "./kquants.js";
import {
  dequantizeBF16,
  dequantizeF16,
  dequantizeF32,
  dequantizeQ4_0,
  dequantizeQ4_K,
  dequantizeQ5_0,
  dequantizeQ5_1,
  dequantizeQ5_K,
  dequantizeQ6_K,
  dequantizeQ8_0,
} from "./dequantize.js";

export interface QuantizeOptions {
  /** The tensor's name, quoted in errors (a NaN weight names its tensor). */
  name?: string;
  /** Index of data[0] within its tensor, for error messages when quantizing a row range (default 0). */
  indexBase?: number;
  /** Write NaN, infinities and overflowing values as they come out instead of throwing NonFiniteWeightError. */
  allowNonFinite?: boolean;
}

type BlockKernel = (x: Float32Array, xOff: number, nBlocks: number, out: Uint8Array, oOff: number) => void;

const KERNELS: Partial<Record<SupportedType, BlockKernel>> = {
  [GgmlType.Q8_0]: quantizeQ8_0,
  [GgmlType.Q4_0]: quantizeQ4_0,
  [GgmlType.Q5_0]: quantizeQ5_0,
  [GgmlType.Q5_1]: quantizeQ5_1,
  [GgmlType.Q4_K]: quantizeQ4_K,
  [GgmlType.Q5_K]: quantizeQ5_K,
  [GgmlType.Q6_K]: quantizeQ6_K,
};

function checkType(type: number): asserts type is SupportedType {
  if (!isSupportedType(type)) throw new QuantizeError(`unsupported ggml type ${type}`);
}

function checkRows(type: SupportedType, length: number, nPerRow: number): number {
  const perRow = rowBytes(type, nPerRow);
  if (nPerRow === 0) {
    if (length !== 0) throw new QuantizeError(`row length 0 with ${length} values`);
    return 0;
  }
  if (length % nPerRow !== 0) {
    throw new QuantizeError(`${length} values are not whole rows of ${nPerRow}`);
  }
  return (length / nPerRow) * perRow;
}

/**
 * Throws NonFiniteWeightError at the first NaN or ±Infinity, or (given `infiniteFrom`, the bits of the smallest
 * float32 magnitude that `type` rounds to infinity) at the first value that would be infinite as `type`.
 */
export function assertFinite(data: Float32Array, name = "(unnamed)", indexBase = 0, infiniteFrom = 0x7f800000, type?: string): void {
  // branch-free scan: a magnitude at or above infiniteFrom (all-ones exponent by default) carries into bit 31
  const carry = 0x80000000 - infiniteFrom;
  const u = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const n = u.length;
  let acc = 0;
  for (let i = 0; i < n; i++) acc |= (u[i]! & 0x7fffffff) + carry;
  if (acc >= 0) return;
  for (let i = 0; i < n; i++) {
    const v = data[i]!;
    if (v - v !== 0) throw new NonFiniteWeightError(name, indexBase + i, v);
    if ((u[i]! & 0x7fffffff) >= infiniteFrom) throw new NonFiniteWeightError(name, indexBase + i, v, type);
  }
}

/** Bits of the smallest float32 magnitude each half type rounds to infinity (to nearest even): 65520, and 2^128 - 2^103. */
const INFINITE_FROM: Partial<Record<SupportedType, number>> = { [GgmlType.F16]: 0x477ff000, [GgmlType.BF16]: 0x7f7f8000 };

/**
 * Quantizes whole rows of float32 values to ggml `type`, byte for byte what ggml_quantize_chunk(type, …, imatrix
 * = NULL) writes. `data.length` must be a multiple of `nPerRow`, and `nPerRow` a multiple of the type's block size.
 * NaN or infinite values throw NonFiniteWeightError (with options.name).
 */
export function quantizeRows(type: SupportedType, data: Float32Array, nPerRow: number, options: QuantizeOptions = {}): Uint8Array {
  checkType(type);
  const out = new Uint8Array(checkRows(type, data.length, nPerRow));
  quantizeRowsInto(type, data, nPerRow, out, 0, options);
  return out;
}

/** quantizeRows into `out` at byte offset `outOffset` (no allocation). Returns the number of bytes written. */
export function quantizeRowsInto(
  type: SupportedType,
  data: Float32Array,
  nPerRow: number,
  out: Uint8Array,
  outOffset = 0,
  options: QuantizeOptions = {},
): number {
  checkType(type);
  const bytes = checkRows(type, data.length, nPerRow);
  if (!Number.isSafeInteger(outOffset) || outOffset < 0 || outOffset + bytes > out.length) {
    throw new QuantizeError(`output buffer too small: need ${bytes} bytes at offset ${outOffset}, have ${out.length}`);
  }
  const name = options.name ?? "(unnamed)";
  const indexBase = options.indexBase ?? 0;
  const check = !options.allowNonFinite;
  // the WebAssembly kernels check for NaN and infinities themselves, on the copy they work on
  if (!wasmQuantize(type, data, out, outOffset, name, indexBase, check)) {
    if (check) assertFinite(data, name, indexBase, INFINITE_FROM[type], TYPE_NAME[type]);
    encodeInto(type, data, out, outOffset, bytes);
  }
  if (check) assertScalesFinite(type, data, out, outOffset, name, indexBase);
  return bytes;
}

/** Byte offsets of the F16 fields (block scale, block minimum) in one block of each quantized type. */
const SCALE_FIELDS: Partial<Record<SupportedType, readonly number[]>> = {
  [GgmlType.Q8_0]: [0],
  [GgmlType.Q4_0]: [0],
  [GgmlType.Q5_0]: [0],
  [GgmlType.Q5_1]: [0, 2],
  [GgmlType.Q4_K]: [0, 2],
  [GgmlType.Q5_K]: [0, 2],
  [GgmlType.Q6_K]: [208],
};

/**
 * Throws NonFiniteWeightError when a block of finite values came out with an infinite F16 scale (weights in the
 * hundreds of thousands or more). Reads 2 or 4 bytes per block of the output.
 */
function assertScalesFinite(
  type: SupportedType,
  data: Float32Array,
  out: Uint8Array,
  outOffset: number,
  name: string,
  indexBase: number,
): void {
  const fields = SCALE_FIELDS[type];
  if (!fields) return;
  const blockBytes = BLOCK_BYTES[type];
  const blocks = data.length / BLOCK_SIZE[type];
  const infinite = (o: number) => ((out[o]! | (out[o + 1]! << 8)) & 0x7c00) === 0x7c00;
  let acc = 0;
  // branch-free: an all-ones exponent plus its lowest bit carries into bit 15, any other exponent does not
  for (const field of fields) {
    for (let b = 0, o = outOffset + field; b < blocks; b++, o += blockBytes) acc |= ((out[o]! | (out[o + 1]! << 8)) & 0x7c00) + 0x0400;
  }
  if ((acc & 0x8000) === 0) return;
  for (let b = 0; b < blocks; b++) {
    if (!fields.some((field) => infinite(outOffset + b * blockBytes + field))) continue;
    // the block's largest value is the one its scale could not hold
    let at = b * BLOCK_SIZE[type];
    for (let i = at; i < (b + 1) * BLOCK_SIZE[type]; i++) if (Math.abs(data[i]!) > Math.abs(data[at]!)) at = i;
    throw new NonFiniteWeightError(name, indexBase + at, data[at]!, TYPE_NAME[type]);
  }
}

function encodeInto(type: SupportedType, data: Float32Array, out: Uint8Array, outOffset: number, bytes: number): void {
  const n = data.length;
  switch (type) {
    case GgmlType.F32:
      new Uint8Array(out.buffer, out.byteOffset + outOffset, bytes).set(new Uint8Array(data.buffer, data.byteOffset, bytes));
      break;
    case GgmlType.F16: {
      const u = new Uint32Array(data.buffer, data.byteOffset, n);
      for (let i = 0, o = outOffset; i < n; i++, o += 2) {
        const h = f32BitsToF16(u[i]!);
        out[o] = h & 0xff;
        out[o + 1] = h >>> 8;
      }
      break;
    }
    case GgmlType.BF16: {
      const u = new Uint32Array(data.buffer, data.byteOffset, n);
      for (let i = 0, o = outOffset; i < n; i++, o += 2) {
        const h = f32BitsToBf16(u[i]!);
        out[o] = h & 0xff;
        out[o + 1] = h >>> 8;
      }
      break;
    }
    default:
      KERNELS[type]!(data, 0, n / BLOCK_SIZE[type], out, outOffset);
  }
}

/**
 * Dequantizes `count` values of ggml `type` from `bytes` (count must be a whole number of blocks), equal bit for
 * bit to ggml's type_traits[type].to_float.
 */
export function dequantizeRows(type: SupportedType, bytes: Uint8Array, count: number): Float32Array {
  checkType(type);
  const bs = BLOCK_SIZE[type];
  if (!Number.isSafeInteger(count) || count < 0 || count % bs !== 0) {
    throw new QuantizeError(`count ${count} is not a multiple of ${TYPE_NAME[type]}'s block size ${bs}`);
  }
  const nBlocks = count / bs;
  const need = nBlocks * BLOCK_BYTES[type];
  if (bytes.length < need) throw new QuantizeError(`${bytes.length} bytes hold fewer than ${count} ${TYPE_NAME[type]} values`);
  const out = new Float32Array(count);
  switch (type) {
    case GgmlType.F32:
      dequantizeF32(bytes, 0, count, out);
      break;
    case GgmlType.F16:
      dequantizeF16(bytes, 0, count, out);
      break;
    case GgmlType.BF16:
      dequantizeBF16(bytes, 0, count, out);
      break;
    case GgmlType.Q8_0:
      dequantizeQ8_0(bytes, 0, nBlocks, out);
      break;
    case GgmlType.Q4_0:
      dequantizeQ4_0(bytes, 0, nBlocks, out);
      break;
    case GgmlType.Q5_0:
      dequantizeQ5_0(bytes, 0, nBlocks, out);
      break;
    case GgmlType.Q5_1:
      dequantizeQ5_1(bytes, 0, nBlocks, out);
      break;
    case GgmlType.Q4_K:
      dequantizeQ4_K(bytes, 0, nBlocks, out);
      break;
    case GgmlType.Q5_K:
      dequantizeQ5_K(bytes, 0, nBlocks, out);
      break;
    case GgmlType.Q6_K:
      dequantizeQ6_K(bytes, 0, nBlocks, out);
      break;
  }
  return out;
}
