import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { defineConfig } from "tsup";

// Self-contained: the kit and web-tree-sitter are bundled in, and the grammar .wasm files are copied next to the
// bundle (dist/grammars/), so the packed tarball installs and runs with no registry and no native build.
const WASM: [string, string][] = [
  ["web-tree-sitter", "web-tree-sitter.wasm"],
  ["tree-sitter-python", "tree-sitter-python.wasm"],
  ["tree-sitter-go", "tree-sitter-go.wasm"],
  ["tree-sitter-javascript", "tree-sitter-javascript.wasm"],
  ["tree-sitter-java", "tree-sitter-java.wasm"],
  ["tree-sitter-typescript", "tree-sitter-typescript.wasm"],
  ["tree-sitter-typescript", "tree-sitter-tsx.wasm"],
];

export default defineConfig({
  entry: ["src/index.ts", "src/bin.ts"],
  format: ["esm"],
  dts: { entry: "src/index.ts", compilerOptions: { moduleResolution: "bundler", module: "esnext", customConditions: ["source"] } },
  clean: true,
  target: "node20",
  platform: "node",
  sourcemap: true,
  noExternal: [/.*/],
  esbuildOptions(options) {
    options.conditions = ["source", "node", "import", "module", "default"];
  },
  banner: { js: "import { createRequire as __neuralCreateRequire } from 'node:module'; const require = __neuralCreateRequire(import.meta.url);" },
  async onSuccess() {
    // The grammar packages are dependencies of @neural/generators; resolve them from there.
    const require = createRequire(createRequire(import.meta.url).resolve("@neural/generators/package.json"));
    mkdirSync("dist/grammars", { recursive: true });
    for (const [pkg, file] of WASM) copyFileSync(require.resolve(`${pkg}/${file}`), `dist/grammars/${file}`);
  },
});
