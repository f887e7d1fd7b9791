// The quickstarts' common ending: merge the LoRA adapter into the base, then write Q8_0 and Q4_K_M GGUF files, each
// with a Modelfile beside it.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { convertHfToGguf } from "@neural/gguf-writer";
import { mergeAdapter } from "@neural/lora-trainer";
import { QuantizePool } from "@neural/quantize/parallel";
import type { Io } from "../command.js";
import { defaultModelfilePath, fromPath, modelfileTemplate, renderModelfile } from "./modelfile.js";

export interface QuickstartExport {
  out: string;
  adapterDir: string;
  baseDir: string;
  /** The GGUF files are `{out}/{task}-q8_0.gguf` and `{out}/{task}-q4_k_m.gguf`; their model name `neural-quickstart-{task}`. */
  task: string;
  /** The command named in the Modelfiles. */
  command: string;
  threads?: number;
}

/** Returns the merged model's folder and the GGUF file of each type. */
export async function exportQuickstartGgufs(
  o: QuickstartExport,
  io: Io,
): Promise<{ mergedDir: string; ggufs: Record<"Q8_0" | "Q4_K_M", string> }> {
  const mergedDir = path.join(o.out, "merged");
  await mergeAdapter({ adapterDir: o.adapterDir, baseModel: o.baseDir, outputDir: mergedDir });
  const ggufs: Partial<Record<"Q8_0" | "Q4_K_M", string>> = {};
  const pool = new QuantizePool(o.threads !== undefined ? { threads: o.threads } : {});
  try {
    for (const type of ["Q8_0", "Q4_K_M"] as const) {
      const file = path.join(o.out, `${o.task}-${type.toLowerCase()}.gguf`);
      const result = await convertHfToGguf({ modelDir: mergedDir, output: file, outType: type, pool, name: `neural-quickstart-${o.task}` });
      ggufs[type] = file;
      const modelfile = defaultModelfilePath(file);
      await writeFile(modelfile, renderModelfile(fromPath(modelfile, file), await modelfileTemplate([o.adapterDir, mergedDir]), o.command));
      io.err(`${file}: ${(result.fileSize / 1e6).toFixed(1)} MB`);
    }
  } finally {
    await pool.close();
  }
  return { mergedDir, ggufs: ggufs as Record<"Q8_0" | "Q4_K_M", string> };
}
