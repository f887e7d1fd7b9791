// `neural` from the TypeScript sources (a checkout: `pnpm neural ...`, `pnpm --filter cli train ...`): tsx compiles
// them, and workspace packages resolve through their "source" export condition to their sources, as in the tests.
import { register } from "node:module";
import { register as registerTsx } from "tsx/esm/api";

register(
  "data:text/javascript,export function resolve(specifier, context, next) { return next(specifier, { ...context, conditions: [...context.conditions, 'source'] }); }",
);
registerTsx();
// A script of this package runs in apps/cli; the paths on its command line are the user's, from where they typed it.
if (process.env.npm_package_name === "@neural/cli" && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);
await import("./main.ts");
