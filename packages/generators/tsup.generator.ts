// The build of every generator package (its bin and library), shared by their tsup.config.ts files.
// Self-contained: the kit and any other workspace package are bundled in (from their TypeScript sources), except the
// package's own `dependencies`, which stay imports (generator-cypher depends on @neural/cypher rather than carrying a
// second copy of Neo4j's 16 MB parser); with `languages`, web-tree-sitter is bundled too and its .wasm and the
// languages' grammar .wasm files are copied next to the bundle (dist/grammars/), so it runs with no native build.
// No source maps: a bundle of mostly third-party code gets nothing from one but megabytes.
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { defineConfig } from "tsup";

/** The .wasm files that tree-sitter `languages` need: [package, file]. tsx ships in tree-sitter-typescript. */
function grammarFiles(languages: readonly string[]): [pkg: string, file: string][] {
  return [
    ["web-tree-sitter", "web-tree-sitter.wasm"],
    ...languages.map((l): [string, string] => [l === "tsx" ? "tree-sitter-typescript" : `tree-sitter-${l}`, `tree-sitter-${l}.wasm`]),
  ];
}

export function generatorBuild(options: { languages?: readonly string[] } = {}) {
  const grammars = options.languages ? grammarFiles(options.languages) : undefined;
  const dependencies = Object.keys(
    (JSON.parse(readFileSync("package.json", "utf8")) as { dependencies?: Record<string, string> }).dependencies ?? {},
  );
  const escaped = dependencies.map((d) => d.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"));
  return defineConfig({
    entry: ["src/index.ts", "src/bin.ts"],
    format: ["esm"],
    dts: { entry: "src/index.ts", compilerOptions: { moduleResolution: "bundler", module: "esnext", customConditions: ["source"] } },
    clean: true,
    target: "node20",
    platform: "node",
    sourcemap: false,
    noExternal: [dependencies.length ? new RegExp(`^(?!(${escaped.join("|")})(/|$))`) : /.*/],
    esbuildOptions(esbuild) {
      esbuild.conditions = ["source", "node", "import", "module", "default"];
    },
    banner: {
      js: "import { createRequire as __neuralCreateRequire } from 'node:module'; const require = __neuralCreateRequire(import.meta.url);",
    },
    ...(grammars
      ? {
          async onSuccess() {
            // The grammar packages are dependencies of @neural/generators; resolve them from there.
            const require = createRequire(createRequire(import.meta.url).resolve("@neural/generators/package.json"));
            mkdirSync("dist/grammars", { recursive: true });
            for (const [pkg, file] of grammars) copyFileSync(require.resolve(`${pkg}/${file}`), `dist/grammars/${file}`);
          },
        }
      : {}),
  });
}
