/** A config.json (or another file of a Hugging Face model folder) that cannot be used: it names the file and field. */
export class HfConfigError extends Error {
  override name = "HfConfigError";
  constructor(
    message: string,
    /** The file at fault (a path, or a label such as "config.json"). */
    readonly file: string,
    /** The field at fault ("num_key_value_heads", "text_config.layer_types"), when there is one. */
    readonly field?: string,
  ) {
    super(`${file}${field ? `: ${field}` : ""}: ${message}`);
  }
}
