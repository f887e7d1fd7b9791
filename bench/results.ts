// Writes one `## heading` section of bench/RESULTS.md, replacing that section if present and leaving the others.
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const resultsFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "RESULTS.md");

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  return `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.arch()}`;
}

export function writeSection(heading: string, body: string): void {
  let text = "";
  try {
    text = readFileSync(resultsFile, "utf8");
  } catch {
    text = "# Benchmark results\n\nEach section: the machine, the command, and figures with their anchor measured in the same run.\n";
  }
  const marker = `## ${heading}\n`;
  const block = `${marker}\n${body.trim()}\n`;
  const start = text.indexOf(marker);
  if (start < 0) text = `${text.trimEnd()}\n\n${block}`;
  else {
    const next = text.indexOf("\n## ", start + marker.length);
    text = text.slice(0, start) + block + (next < 0 ? "" : text.slice(next));
  }
  const temp = `${resultsFile}.tmp-${process.pid}`;
  writeFileSync(temp, text.endsWith("\n") ? text : text + "\n");
  renameSync(temp, resultsFile);
}
