/** A Hugging Face model directory cannot be converted (unsupported architecture, missing or inconsistent files). */
export class GgufConvertError extends Error {
  override name = "GgufConvertError";
  constructor(
    message: string,
    /** The file at fault (config.json, tokenizer.json, a checkpoint...). */
    readonly file: string,
    /** The field or tensor at fault. */
    readonly field?: string,
  ) {
    super(`${file}${field ? ` (${field})` : ""}: ${message}`);
  }
}

/**
 * A weight that is NaN or infinite, or too large for the type it is written as (it would be infinite in the file),
 * named by the file and tensor it comes from and by its GGUF tensor.
 */
export class NonFiniteTensorError extends GgufConvertError {
  override name = "NonFiniteTensorError";
  constructor(
    file: string,
    /** The tensor in `file` (the GGUF name when it has no source tensor). */
    readonly tensor: string,
    /** What is wrong, without the names: "value NaN at index 200 is not finite". */
    readonly reason: string,
    readonly ggufTensor: string,
  ) {
    super(`${reason}${ggufTensor === tensor ? "" : ` (GGUF tensor ${ggufTensor})`}`, file, tensor);
  }
}
