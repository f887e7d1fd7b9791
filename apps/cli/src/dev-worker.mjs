// Starts a TypeScript worker when the CLI runs from its sources (pnpm neural ...): registers tsx's loader in this
// thread, then imports the worker module named in workerData.
import { register } from "tsx/esm/api";
import { workerData } from "node:worker_threads";

register();
await import(workerData.module);
