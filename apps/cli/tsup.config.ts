import { defineConfig } from "tsup";

// bin/neural.js imports dist/main.js. Each command is its own chunk (commands/index.ts imports them on demand), and the
// @neural libraries stay external dependencies. No source maps: nothing imports an app, and its errors are messages.
export default defineConfig({
  entry: ["src/index.ts", "src/main.ts", "src/train-worker.ts"],
  format: ["esm"],
  dts: { entry: "src/index.ts" },
  clean: true,
  target: "node20",
  splitting: true,
});
