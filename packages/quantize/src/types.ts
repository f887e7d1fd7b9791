// ggml tensor types and llama.cpp file types, as numbered in ggml.h / llama.h of the llama.cpp that node-llama-cpp
// 3.21.1 bundles. Only the types this package implements are listed in the tables.

/** ggml_type ids. */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  BF16: 30,
} as const;
export type GgmlType = (typeof GgmlType)[keyof typeof GgmlType];

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

/** Values per block (ggml's blck_size). */
export const BLOCK_SIZE: Readonly<Record<SupportedType, number>> = {
  [GgmlType.F32]: 1,
  [GgmlType.F16]: 1,
  [GgmlType.BF16]: 1,
  [GgmlType.Q8_0]: 32,
  [GgmlType.Q4_0]: 32,
  [GgmlType.Q5_0]: 32,
  [GgmlType.Q5_1]: 32,
  [GgmlType.Q4_K]: 256,
  [GgmlType.Q5_K]: 256,
  [GgmlType.Q6_K]: 256,
};

/** Bytes per block (ggml's type_size). */
export const BLOCK_BYTES: Readonly<Record<SupportedType, number>> = {
  [GgmlType.F32]: 4,
  [GgmlType.F16]: 2,
  [GgmlType.BF16]: 2,
  [GgmlType.Q8_0]: 34,
  [GgmlType.Q4_0]: 18,
  [GgmlType.Q5_0]: 22,
  [GgmlType.Q5_1]: 24,
  [GgmlType.Q4_K]: 144,
  [GgmlType.Q5_K]: 176,
  [GgmlType.Q6_K]: 210,
};

/** ggml's type names (ggml_type_name). */
export const TYPE_NAME: Readonly<Record<SupportedType, string>> = {
  [GgmlType.F32]: "f32",
  [GgmlType.F16]: "f16",
  [GgmlType.BF16]: "bf16",
  [GgmlType.Q8_0]: "q8_0",
  [GgmlType.Q4_0]: "q4_0",
  [GgmlType.Q5_0]: "q5_0",
  [GgmlType.Q5_1]: "q5_1",
  [GgmlType.Q4_K]: "q4_K",
  [GgmlType.Q5_K]: "q5_K",
  [GgmlType.Q6_K]: "q6_K",
};

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

/** A weight that is NaN or infinite: the tensor cannot be quantized (llama.cpp would refuse the file too). */
export class NonFiniteWeightError extends QuantizeError {
  override name = "NonFiniteWeightError";
  constructor(
    readonly tensor: string,
    readonly index: number,
    readonly value: number,
  ) {
    super(`tensor ${tensor}: value ${value} at index ${index} is not finite`);
  }
}
