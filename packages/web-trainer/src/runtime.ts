// The ONNX Runtime this package runs on is passed in, not imported: onnxruntime-web's module in a browser or a Worker
// (WebGPU or WASM), onnxruntime-node's in Node. @neural/lora-trainer's runner serializes graphs in memory; weights
// that are initializers travel as in-memory external data, so nothing touches a file system.
import type { FallbackOptions } from "@neural/graph";

/** Where and how sessions run: providers tried in order (["webgpu", "wasm"] in a browser, ["cpu"] in Node). */
export interface SessionSettings extends FallbackOptions {}

/** Something about a training run that cannot work (bad settings, a model that is not usable). */
export class WebTrainerError extends Error {
  override name = "WebTrainerError";
}
