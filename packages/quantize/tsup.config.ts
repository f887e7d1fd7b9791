import { defineConfig } from "tsup";

// worker.ts is its own entry: QuantizePool starts it as dist/worker.js.
export default defineConfig({
  entry: ["src/index.ts", "src/parallel.ts", "src/worker.ts"],
  format: ["esm"],
  dts: true,
  clean: true,
  target: "node20",
  sourcemap: true,
});
