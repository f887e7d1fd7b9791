import { defineConfig } from "tsup";

export default defineConfig({ entry: ["src/main.ts", "src/train-worker.ts"], format: ["esm"], dts: true, clean: true, target: "node20", sourcemap: true, banner: { js: "#!/usr/bin/env node" } });
