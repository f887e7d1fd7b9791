// The test projects: every package and app with a vitest.config.ts. vitest 4 no longer reads this file by itself;
// vitest.config.ts imports it as `test.projects`.
export default ["packages/*/vitest.config.ts", "apps/*/vitest.config.ts", "examples/vitest.config.ts", "scripts/vitest.config.ts"];
