// Messages between the page and its training worker.
import type { ValidationReport } from "@neural/dataset";
import type { OutType } from "@neural/gguf-writer";
import type { TrainConfig } from "@neural/lora-trainer";
import type { EvalSample, WebTrainEvent } from "@neural/web-trainer";

export type Backend = "auto" | "webgpu" | "wasm";

export interface DatasetBytes {
  name: string;
  bytes: ArrayBuffer;
}

export type ToWorker =
  | { type: "validate"; dataset: DatasetBytes }
  | {
      type: "train";
      dataset: DatasetBytes;
      settings: Partial<TrainConfig>;
      outType: OutType;
      backend: Backend;
      /** WASM threads (default: up to 8, the cores the browser reports, when the page is cross-origin isolated). */
      threads?: number;
      /** A Hugging Face model folder (LoRA on it); without it a model is made from scratch. */
      base?: { name: string; files: [string, Blob][] };
    }
  | { type: "stop" };

export interface RuntimeInfo {
  providers: string[];
  threads: number;
  crossOriginIsolated: boolean;
  webgpu: boolean;
}

export type FromWorker =
  | { type: "runtime"; info: RuntimeInfo }
  | { type: "report"; report: ValidationReport; lines: string[] }
  | { type: "event"; event: WebTrainEvent }
  | {
      type: "done";
      provider: string;
      steps: number;
      stopped: string;
      losses: number[];
      tokensPerSecond: number;
      samples: EvalSample[];
      exactMatch?: number;
      files: { name: string; type: string; bytes: ArrayBuffer }[];
    }
  | { type: "error"; name: string; message: string };
