import { defineProject } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.js";

export default defineProject({ ...sourceConditions, test: { name: "quantize", testTimeout: 60_000 } });
