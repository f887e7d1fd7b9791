#!/usr/bin/env node
// `pnpm bench [name ...] [-- args]`: runs bench/<name>.bench.ts (all of them without a name) on the TypeScript sources.
// Each benchmark prints its figures and a ratio against an anchor measured in the same run.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dash = process.argv.indexOf("--");
const names = (dash < 0 ? process.argv.slice(2) : process.argv.slice(2, dash)).filter(Boolean);
const extra = dash < 0 ? [] : process.argv.slice(dash + 1);
const all = readdirSync(path.join(root, "bench"))
  .filter((f) => f.endsWith(".bench.ts"))
  .map((f) => f.slice(0, -".bench.ts".length))
  .sort();
const chosen = names.length ? names : all;
for (const name of chosen) {
  if (!all.includes(name)) {
    console.error(`no benchmark "${name}"; have: ${all.join(", ")}`);
    process.exit(2);
  }
  console.log(`\n## bench ${name}`);
  const tsx = path.join(root, "node_modules", ".bin", "tsx");
  const result = spawnSync(tsx, ["--conditions=source", path.join(root, "bench", `${name}.bench.ts`), ...extra], {
    stdio: "inherit",
    cwd: root,
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
