import { defineProject } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.js";

// Tests that load GGUF files in llama.cpp child processes take seconds each.
export default defineProject({ ...sourceConditions, test: { name: "testkit", testTimeout: 120_000, hookTimeout: 120_000 } });
