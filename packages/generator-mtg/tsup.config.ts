import { defineConfig } from "tsup";

// Self-contained: the kit (a workspace package) is bundled in, so the packed tarball installs with no registry.
export default defineConfig({
  entry: ["src/index.ts", "src/bin.ts"],
  format: ["esm"],
  dts: { entry: "src/index.ts", compilerOptions: { moduleResolution: "bundler", module: "esnext", customConditions: ["source"] } },
  clean: true,
  target: "node20",
  platform: "node",
  sourcemap: true,
  noExternal: [/.*/],
  // Bundle workspace packages from their TypeScript sources (no need to build them first).
  esbuildOptions(options) {
    options.conditions = ["source", "node", "import", "module", "default"];
  },
  banner: { js: "import { createRequire as __neuralCreateRequire } from 'node:module'; const require = __neuralCreateRequire(import.meta.url);" },
});
