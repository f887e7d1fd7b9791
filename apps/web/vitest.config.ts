import { defineProject } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.js";

// The page's test drives a Chromium from npm (@sparticuz/chromium, through playwright-core) and builds the page first when dist/ is stale.
export default defineProject({
  ...sourceConditions,
  test: { name: "web", include: ["src/**/*.spec.ts"], testTimeout: 300_000, hookTimeout: 300_000 },
});
