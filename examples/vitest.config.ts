import { defineProject } from "vitest/config";

// No "source" condition here: the examples must run against the packages' built dist, as a user's project would.
export default defineProject({ test: { name: "examples", testTimeout: 240_000, hookTimeout: 240_000 } });
