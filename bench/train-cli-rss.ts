// Runs the `neural` CLI (apps/cli, from its sources, as `pnpm neural` does) in this process and prints the process's
// peak RSS when it exits, worker threads included: what bench/train.bench.ts compares the memory estimate with.
//   tsx --conditions=source bench/train-cli-rss.ts train --dataset ... --max_steps 3
process.on("exit", (code) => {
  console.log(JSON.stringify({ maxRssMiB: process.resourceUsage().maxRSS / 1024, code: process.exitCode ?? code }));
});
await import("../apps/cli/src/main.js");
