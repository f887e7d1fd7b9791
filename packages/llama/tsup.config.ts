import { copyFile } from "node:fs/promises";
import { defineConfig } from "tsup";

// child.mjs is plain JavaScript run by `node` in a child process: it is copied next to the bundle, unbundled.
export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm"],
  dts: true,
  clean: true,
  target: "node20",
  sourcemap: true,
  external: ["node-llama-cpp", "koffi"],
  onSuccess: async () => {
    await copyFile("src/child.mjs", "dist/child.mjs");
  },
});
