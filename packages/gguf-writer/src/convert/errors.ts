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
