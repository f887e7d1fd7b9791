// GGUF v3 constants: metadata value types, ggml tensor types, file types.

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value types, with their on-disk ids. */
export const ValueType = {
  U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12,
} as const;
export type ValueTypeName = keyof typeof ValueType;
export type ScalarTypeName = Exclude<ValueTypeName, "ARRAY">;

export const VALUE_TYPE_NAMES: Readonly<Record<number, ValueTypeName>> = Object.fromEntries(
  Object.entries(ValueType).map(([k, v]) => [v, k as ValueTypeName]),
);

/** Fixed byte size of scalar value types (STRING is variable). */
export const SCALAR_BYTES: Readonly<Partial<Record<ValueTypeName, number>>> = {
  U8: 1, I8: 1, U16: 2, I16: 2, U32: 4, I32: 4, F32: 4, BOOL: 1, U64: 8, I64: 8, F64: 8,
};

export type ScalarValue = number | bigint | boolean | string;

/** One metadata value with its exact type. Arrays hold scalars of one type (nested arrays are not used by llama.cpp). */
export type GgufValue =
  | { type: Exclude<ScalarTypeName, "U64" | "I64" | "BOOL" | "STRING">; value: number }
  | { type: "U64" | "I64"; value: bigint }
  | { type: "BOOL"; value: boolean }
  | { type: "STRING"; value: string }
  | { type: "ARRAY"; itemType: ScalarTypeName; value: readonly ScalarValue[] | ArrayLike<number> };

/** Constructors that make the intended type explicit at every call site. */
export const gv = {
  u8: (value: number): GgufValue => ({ type: "U8", value }),
  i8: (value: number): GgufValue => ({ type: "I8", value }),
  u16: (value: number): GgufValue => ({ type: "U16", value }),
  i16: (value: number): GgufValue => ({ type: "I16", value }),
  u32: (value: number): GgufValue => ({ type: "U32", value }),
  i32: (value: number): GgufValue => ({ type: "I32", value }),
  f32: (value: number): GgufValue => ({ type: "F32", value }),
  f64: (value: number): GgufValue => ({ type: "F64", value }),
  u64: (value: bigint | number): GgufValue => ({ type: "U64", value: BigInt(value) }),
  i64: (value: bigint | number): GgufValue => ({ type: "I64", value: BigInt(value) }),
  bool: (value: boolean): GgufValue => ({ type: "BOOL", value }),
  str: (value: string): GgufValue => ({ type: "STRING", value }),
  arr: (itemType: ScalarTypeName, value: readonly ScalarValue[] | ArrayLike<number>): GgufValue => ({ type: "ARRAY", itemType, value }),
};

/** ggml tensor types: id, elements per block, bytes per block. */
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

export const GGML_TYPE_BY_ID: ReadonlyMap<number, GgmlTypeName> = new Map(
  Object.entries(GGML_TYPES).map(([k, v]) => [v.id, k as GgmlTypeName]),
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

/** llama_ftype values written as general.file_type. */
export const FILE_TYPES = {
  ALL_F32: 0, MOSTLY_F16: 1, MOSTLY_Q4_0: 2, MOSTLY_Q4_1: 3, MOSTLY_Q8_0: 7, MOSTLY_Q5_0: 8, MOSTLY_Q5_1: 9, MOSTLY_Q2_K: 10,
  MOSTLY_Q3_K_S: 11, MOSTLY_Q3_K_M: 12, MOSTLY_Q3_K_L: 13, MOSTLY_Q4_K_S: 14, MOSTLY_Q4_K_M: 15, MOSTLY_Q5_K_S: 16,
  MOSTLY_Q5_K_M: 17, MOSTLY_Q6_K: 18, MOSTLY_BF16: 32,
} as const;

/** Token types of tokenizer.ggml.token_type. */
export const TokenType = { UNDEFINED: 0, NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export const alignUp = (n: number, alignment: number): number => Math.ceil(n / alignment) * alignment;
