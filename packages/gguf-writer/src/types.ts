// GGUF v3 constants: metadata value types and token types.

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value types, with their on-disk ids. */
export const ValueType = {
  U8: 0,
  I8: 1,
  U16: 2,
  I16: 3,
  U32: 4,
  I32: 5,
  F32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  U64: 10,
  I64: 11,
  F64: 12,
} as const;
export type ValueTypeName = keyof typeof ValueType;
export type ScalarTypeName = Exclude<ValueTypeName, "ARRAY">;

export const VALUE_TYPE_NAMES: Readonly<Record<number, ValueTypeName>> = Object.fromEntries(
  Object.entries(ValueType).map(([k, v]) => [v, k as ValueTypeName]),
);

/** Fixed byte size of scalar value types (STRING is variable). */
export const SCALAR_BYTES: Readonly<Partial<Record<ValueTypeName, number>>> = {
  U8: 1,
  I8: 1,
  U16: 2,
  I16: 2,
  U32: 4,
  I32: 4,
  F32: 4,
  BOOL: 1,
  U64: 8,
  I64: 8,
  F64: 8,
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

// ggml's tensor types (ids, block sizes) are @neural/quantize's.
export { GGML_TYPE_BY_ID, GGML_TYPES, tensorBytes, type GgmlTypeName } from "@neural/quantize";

/** Token types of tokenizer.ggml.token_type. */
export const TokenType = { UNDEFINED: 0, NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export const alignUp = (n: number, alignment: number): number => Math.ceil(n / alignment) * alignment;
