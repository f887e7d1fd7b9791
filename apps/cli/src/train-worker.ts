// Runs training off the main thread (session.run blocks its thread), so the progress display stays live and Ctrl-C
// is heard. Messages: in {type: "stop"}; out TrainEvent | {type: "result"} | {type: "error"}.
import { parentPort, workerData } from "node:worker_threads";
import { train, type TrainConfig, type TrainEvent } from "@neural/lora-trainer";

const controller = new AbortController();
parentPort!.on("message", (message: { type: string }) => {
  if (message.type === "stop") controller.abort();
});
const { config, evalOnly } = workerData as { config: TrainConfig; evalOnly?: boolean };
train(config, {
  signal: controller.signal,
  evalOnly: evalOnly === true,
  onEvent: (event: TrainEvent) => parentPort!.postMessage(event),
}).then(
  (result) => parentPort!.postMessage({ type: "result", result }),
  (error: Error & { code?: unknown; path?: unknown; dest?: unknown; syscall?: unknown }) =>
    parentPort!.postMessage({
      type: "error",
      name: error.name,
      message: error.message,
      stack: error.stack,
      code: error.code,
      path: error.path,
      dest: error.dest,
      syscall: error.syscall,
    }),
);
