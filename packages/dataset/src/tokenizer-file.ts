import { promises as fs } from "node:fs";
import path from "node:path";
import { TokenizerError } from "./errors.js";
import { TOKENIZER_LIMITS } from "@neural/hf-config";
import { createTokenizer, type TextTokenizer, type TokenizerFiles } from "./tokenizer.js";

/** Reads tokenizer.json (+ tokenizer_config.json when present) from a model or tokenizer directory (Node only). */
export async function readTokenizerFiles(dir: string): Promise<TokenizerFiles> {
  const read = async (name: string, required: boolean): Promise<Record<string, unknown> | undefined> => {
    const file = path.join(dir, name);
    let text: string;
    try {
      const { size } = await fs.stat(file);
      if (size > TOKENIZER_LIMITS.fileBytes) {
        throw new TokenizerError(
          `${file}: ${size} bytes, more than a tokenizer file may have (${TOKENIZER_LIMITS.fileBytes / 2 ** 20} MiB)`,
        );
      }
      text = await fs.readFile(file, "utf8");
    } catch (error) {
      if (error instanceof TokenizerError) throw error;
      if ((error as NodeJS.ErrnoException).code === "ENOENT" && !required) return undefined;
      throw new TokenizerError(`${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : (error as Error).message}`);
    }
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new TokenizerError(`${file}: invalid JSON: ${(error as Error).message}`);
    }
  };
  const tokenizer = (await read("tokenizer.json", true))!;
  const config = (await read("tokenizer_config.json", false)) ?? {};
  return { tokenizer, config };
}

export async function loadTokenizer(dir: string): Promise<TextTokenizer> {
  return createTokenizer(await readTokenizerFiles(dir), dir);
}

/** Writes tokenizer.json and tokenizer_config.json into `dir` (created if needed); each file is written then renamed. */
export async function saveTokenizer(
  dir: string,
  files: { tokenizerJson: Record<string, unknown>; tokenizerConfig: Record<string, unknown> },
): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (const [name, data] of [
    ["tokenizer.json", files.tokenizerJson],
    ["tokenizer_config.json", files.tokenizerConfig],
  ] as const) {
    const target = path.join(dir, name);
    const temp = `${target}.tmp-${process.pid}`;
    await fs.writeFile(temp, JSON.stringify(data, null, 2) + "\n");
    await fs.rename(temp, target);
  }
}
