import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";
import projects from "./vitest.workspace.js";

// .ci/run reads .tmp/vitest.json and fails when no test ran (vitest 4 ignores a stray vitest.workspace.ts silently).
// Two files at a time even on 2 cores (vitest's default there is one): most tests run ONNX Runtime and llama.cpp on
// one thread, so one file at a time leaves a core idle.
export default defineConfig({
  test: {
    projects,
    passWithNoTests: false,
    maxWorkers: Math.max(2, availableParallelism() - 1),
    reporters: ["default", ["json", { outputFile: ".tmp/vitest.json" }]],
  },
});
