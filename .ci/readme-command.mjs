// Prints the README's n-th ```sh block (1-based): CI runs the README's commands exactly as written.
import { readFileSync } from "node:fs";
const n = Number(process.argv[2] ?? 1);
const blocks = [...readFileSync(new URL("../README.md", import.meta.url), "utf8").matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) =>
  m[1].trim(),
);
if (!blocks[n - 1]) {
  console.error(`README.md has no sh block ${n}`);
  process.exit(2);
}
process.stdout.write(blocks[n - 1] + "\n");
