import { defineProject } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.js";

export default defineProject({ ...sourceConditions, test: { name: "generators", testTimeout: 120_000 } });
