// ggml tensor types and llama.cpp file types, as numbered in ggml.h / llama.h of the llama.cpp that node-llama-cpp
// 3.21.1 bundles: the one home of these tables (@neural/gguf-writer reads them from here).

/** ggml's tensor types (ggml.h): id, values per block (blck_size) and bytes per block (type_size). */
export const GGML_TYPES = {
  F32: { id: 0, blockSize: 1, typeSize: 4 },
  F16: { id: 1, blockSize: 1, typeSize: 2 },
  Q4_0: { id: 2, blockSize: 32, typeSize: 18 },
  Q4_1: { id: 3, blockSize: 32, typeSize: 20 },
  Q5_0: { id: 6, blockSize: 32, typeSize: 22 },
  Q5_1: { id: 7, blockSize: 32, typeSize: 24 },
  Q8_0: { id: 8, blockSize: 32, typeSize: 34 },
  Q8_1: { id: 9, blockSize: 32, typeSize: 36 },
  Q2_K: { id: 10, blockSize: 256, typeSize: 84 },
  Q3_K: { id: 11, blockSize: 256, typeSize: 110 },
  Q4_K: { id: 12, blockSize: 256, typeSize: 144 },
  Q5_K: { id: 13, blockSize: 256, typeSize: 176 },
  Q6_K: { id: 14, blockSize: 256, typeSize: 210 },
  Q8_K: { id: 15, blockSize: 256, typeSize: 292 },
  I8: { id: 24, blockSize: 1, typeSize: 1 },
  I16: { id: 25, blockSize: 1, typeSize: 2 },
  I32: { id: 26, blockSize: 1, typeSize: 4 },
  I64: { id: 27, blockSize: 1, typeSize: 8 },
  F64: { id: 28, blockSize: 1, typeSize: 8 },
  BF16: { id: 30, blockSize: 1, typeSize: 2 },
} as const;
export type GgmlTypeName = keyof typeof GGML_TYPES;

/** ggml_type ids by name. */
export const GgmlType = Object.fromEntries(Object.entries(GGML_TYPES).map(([name, t]) => [name, t.id])) as {
  readonly [K in GgmlTypeName]: (typeof GGML_TYPES)[K]["id"];
};
export type GgmlType = (typeof GgmlType)[GgmlTypeName];

export const GGML_TYPE_BY_ID: ReadonlyMap<number, GgmlTypeName> = new Map(
  Object.entries(GGML_TYPES).map(([name, t]) => [t.id, name as GgmlTypeName]),
);

/** Bytes of a tensor of `type` with ggml shape `ne` (innermost first); throws if ne[0] is not a whole number of blocks. */
export function tensorBytes(type: GgmlTypeName, ne: readonly number[]): number {
  const t = GGML_TYPES[type];
  const n0 = ne[0] ?? 1;
  if (n0 % t.blockSize !== 0) throw new RangeError(`${type} needs ne[0] divisible by ${t.blockSize}, got ${n0}`);
  let rows = 1;
  for (let i = 1; i < ne.length; i++) rows *= ne[i]!;
  return (n0 / t.blockSize) * t.typeSize * rows;
}

/** The types quantizeRows / dequantizeRows implement. */
export const SUPPORTED_TYPES = [
  GgmlType.F32,
  GgmlType.F16,
  GgmlType.BF16,
  GgmlType.Q8_0,
  GgmlType.Q4_0,
  GgmlType.Q5_0,
  GgmlType.Q5_1,
  GgmlType.Q4_K,
  GgmlType.Q5_K,
  GgmlType.Q6_K,
] as const;
export type SupportedType = (typeof SUPPORTED_TYPES)[number];

const supported = <T>(value: (name: GgmlTypeName) => T) =>
  Object.fromEntries(SUPPORTED_TYPES.map((id) => [id, value(GGML_TYPE_BY_ID.get(id)!)])) as Readonly<Record<SupportedType, T>>;
/** Values per block (ggml's blck_size). */
export const BLOCK_SIZE = supported((name) => GGML_TYPES[name].blockSize as number);
/** Bytes per block (ggml's type_size). */
export const BLOCK_BYTES = supported((name) => GGML_TYPES[name].typeSize as number);
/** ggml's type names (ggml_type_name). */
export const TYPE_NAME = supported((name) => name.toLowerCase().replace(/_k$/, "_K"));

/** llama_ftype ids: the value of `general.file_type`. */
export const LlamaFtype = {
  ALL_F32: 0,
  MOSTLY_F16: 1,
  MOSTLY_Q4_0: 2,
  MOSTLY_Q4_1: 3,
  MOSTLY_Q8_0: 7,
  MOSTLY_Q5_0: 8,
  MOSTLY_Q5_1: 9,
  MOSTLY_Q2_K: 10,
  MOSTLY_Q3_K_S: 11,
  MOSTLY_Q3_K_M: 12,
  MOSTLY_Q3_K_L: 13,
  MOSTLY_Q4_K_S: 14,
  MOSTLY_Q4_K_M: 15,
  MOSTLY_Q5_K_S: 16,
  MOSTLY_Q5_K_M: 17,
  MOSTLY_Q6_K: 18,
  MOSTLY_BF16: 32,
} as const;
export type LlamaFtype = (typeof LlamaFtype)[keyof typeof LlamaFtype];

/** `general.quantization_version` (GGML_QNT_VERSION) written next to `general.file_type`. */
export const GGML_QNT_VERSION = 2;

export function isSupportedType(type: number): type is SupportedType {
  return (SUPPORTED_TYPES as readonly number[]).includes(type);
}

export function typeName(type: number): string {
  return isSupportedType(type) ? TYPE_NAME[type] : `type ${type}`;
}

/** Bytes of one row of nPerRow values (ggml_row_size). Throws when nPerRow is not a whole number of blocks. */
export function rowBytes(type: SupportedType, nPerRow: number): number {
  if (!isSupportedType(type)) throw new QuantizeError(`unsupported ggml type ${type}`);
  const bs = BLOCK_SIZE[type];
  if (!Number.isSafeInteger(nPerRow) || nPerRow < 0 || nPerRow % bs !== 0) {
    throw new QuantizeError(`row length ${nPerRow} is not a multiple of ${TYPE_NAME[type]}'s block size ${bs}`);
  }
  return (nPerRow / bs) * BLOCK_BYTES[type];
}

/** A bad argument: unsupported type, a row length that is not whole blocks, a buffer of the wrong size. */
export class QuantizeError extends Error {
  override name = "QuantizeError";
}

/** The shortest decimal that reads back as the float32 `value` (1e+30, not 1.0000000150474662e+30). */
function float32Text(value: number): string {
  for (let digits = 1; digits < 9; digits++) {
    const text = String(Number(value.toPrecision(digits)));
    if (Math.fround(Number(text)) === value) return text;
  }
  return String(value);
}

/**
 * A weight that is NaN or infinite, or finite but too large for the type it is written as (a half-precision value or
 * block scale that overflows to infinity): the tensor cannot be quantized, and llama.cpp could not use it.
 */
export class NonFiniteWeightError extends QuantizeError {
  override name = "NonFiniteWeightError";
  constructor(
    readonly tensor: string,
    readonly index: number,
    readonly value: number,
    /** The type the finite `value` overflows in; undefined when `value` itself is NaN or infinite. */
    readonly overflows?: string,
  ) {
    super(
      overflows === undefined
        ? `tensor ${tensor}: value ${value} at index ${index} is not finite`
        : `tensor ${tensor}: value ${float32Text(value)} at index ${index} is too large for ${overflows} (it becomes infinite)`,
    );
  }
}
