import { defineConfig } from "vitest/config";
import projects from "./vitest.workspace.js";

// .ci/run reads .tmp/vitest.json and fails when no test ran (vitest 4 ignores a stray vitest.workspace.ts silently).
export default defineConfig({
  test: { projects, passWithNoTests: false, reporters: ["default", ["json", { outputFile: ".tmp/vitest.json" }]] },
});
