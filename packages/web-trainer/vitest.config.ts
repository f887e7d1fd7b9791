import { defineProject } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.js";

export default defineProject({ ...sourceConditions, test: { name: "web-trainer", testTimeout: 300_000, hookTimeout: 300_000 } });
