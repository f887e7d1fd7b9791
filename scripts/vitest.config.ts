import { defineProject } from "vitest/config";

// Checks of the repository as a whole (how packages are published).
export default defineProject({ test: { name: "repo", testTimeout: 60_000, include: ["*.spec.ts"] } });
