#!/usr/bin/env node
// The `neural` command. Installed from npm it runs the build (dist/); in a checkout of the repository, where src/
// sits next to it, it runs the TypeScript sources (src/dev-main.mjs), so nothing has to be built first.
import { existsSync } from "node:fs";

const sources = new URL("../src/dev-main.mjs", import.meta.url);
await import(existsSync(sources) ? sources.href : "../dist/main.js");
