// The page is static: `vite build` writes dist/, which any static server can serve. For multi-threaded WASM the
// server must send the cross-origin isolation headers below (dev and preview do); without them onnxruntime-web runs
// on one thread.
import { defineConfig, type Plugin } from "vite";

export const isolationHeaders = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

/** Fail the build when anything Node-only is reached: the libraries must take their browser entries. */
function browserOnly(): Plugin {
  return {
    name: "neural-browser-only",
    enforce: "pre",
    resolveId(source, importer) {
      // Packages from npm may guard Node paths at run time (onnxruntime-web's WASM glue imports worker_threads in Node).
      if (importer?.includes("/node_modules/")) return null;
      if (/^node:|^onnxruntime-node$/.test(source) || ["fs", "path", "os", "worker_threads", "child_process"].includes(source)) {
        this.error(`${source} imported by ${importer ?? "?"}: the browser build must not reach Node-only code`);
      }
      return null;
    },
  };
}

export default defineConfig({
  base: "./",
  // The workspace packages' TypeScript sources, through their "browser" entries (no build of the packages needed);
  // onnxruntime-web without its embedded WASM glue: the worker points it at the glue and the .wasm it ships.
  resolve: { conditions: ["source", "browser", "module", "import", "default", "onnxruntime-web-use-extern-wasm"] },
  worker: { format: "es", plugins: () => [browserOnly()] },
  plugins: [browserOnly()],
  optimizeDeps: { exclude: ["onnxruntime-web"] },
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
  build: { target: "es2022", chunkSizeWarningLimit: 4096, assetsInlineLimit: 0 },
});
