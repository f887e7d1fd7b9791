// The page: picks a dataset (the bundled example or a dropped file) and a model (a new one, or a Hugging Face folder
// for LoRA), sends them to the training worker, and shows what comes back: the dataset's problems with their lines,
// the loss curve, tokens/s, the eval split's sample answers and the files to download.
import type { OutType } from "@neural/gguf-writer";
import { lossCurveSvg, type TrainConfig } from "@neural/lora-trainer";
import type { EvalSample, WebTrainEvent } from "@neural/web-trainer";
import type { Backend, DatasetBytes, FromWorker, RuntimeInfo, ToWorker } from "./protocol.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);

/** What the page has done, for people and for automation (tests and benchmarks read it). */
interface PageState {
  state: "idle" | "training" | "done" | "error";
  runtime?: RuntimeInfo;
  provider?: string;
  losses: { step: number; loss: number }[];
  evals: { step: number; loss: number; exactMatch?: number }[];
  tokensPerSecond?: number;
  samples: EvalSample[];
  exactMatch?: number;
  files: string[];
  report?: string[];
  error?: string;
}
const page: PageState = { state: "idle", losses: [], evals: [], samples: [], files: [] };
(window as unknown as { neuralWeb: PageState }).neuralWeb = page;

const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
let dropped: DatasetBytes | undefined;
let folder: { name: string; files: [string, Blob][] } | undefined;
let urls: string[] = [];
let started = 0;
const timing = { tokens: 0, seconds: 0 };

function setState(state: PageState["state"], status: string): void {
  page.state = state;
  document.body.dataset.state = state;
  $("status").textContent = status;
  $<HTMLButtonElement>("train").disabled = state === "training";
  $<HTMLButtonElement>("stop").disabled = state !== "training";
}

function log(line: string): void {
  const el = $("log");
  el.textContent += `${line}\n`;
  el.scrollTop = el.scrollHeight;
}

async function currentDataset(): Promise<DatasetBytes | undefined> {
  if (dropped) return dropped;
  const path = $<HTMLSelectElement>("example").value;
  if (!path) return undefined;
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return { name: path.split("/").pop()!, bytes: await response.arrayBuffer() };
}

async function useFile(file: File): Promise<void> {
  dropped = { name: file.name, bytes: await file.arrayBuffer() };
  $<HTMLSelectElement>("example").value = "";
  validate();
}

async function validate(): Promise<void> {
  const dataset = await currentDataset();
  $("report").textContent = "";
  if (dataset) post({ type: "validate", dataset: { name: dataset.name, bytes: dataset.bytes.slice(0) } });
}

function post(message: ToWorker, transfer: Transferable[] = []): void {
  worker.postMessage(message, transfer);
}

function settings(): Partial<TrainConfig> {
  const n = (id: string) => Number(input(id).value);
  const lora = (document.querySelector('input[name="mode"]:checked') as HTMLInputElement).value === "lora";
  const common: Partial<TrainConfig> = {
    max_steps: n("max_steps"),
    learning_rate: n("learning_rate"),
    batch_size: n("batch_size"),
    eval_batch_size: n("batch_size"),
    max_length: n("max_length"),
    eval_steps: n("eval_steps"),
    warmup_steps: Math.min(10, Math.floor(n("max_steps") / 10)),
    gradient_accumulation: 1,
    gradient_checkpointing: false,
    weight_decay: 0,
    max_new_tokens: 16,
  };
  if (lora) return { ...common, lora_r: n("lora_r"), lora_alpha: n("lora_alpha"), lora_dropout: 0 };
  return {
    ...common,
    hidden_size: n("hidden_size"),
    num_hidden_layers: n("num_hidden_layers"),
    num_attention_heads: n("num_attention_heads"),
    intermediate_size: n("intermediate_size"),
    vocab_size: n("vocab_size"),
  };
}

async function train(): Promise<void> {
  const dataset = await currentDataset();
  if (!dataset) {
    setState("error", "Choose the example or drop a .jsonl file first.");
    return;
  }
  const lora = (document.querySelector('input[name="mode"]:checked') as HTMLInputElement).value === "lora";
  if (lora && !folder) {
    setState("error", "Choose a Hugging Face model folder for LoRA (config.json, tokenizer.json, model.safetensors).");
    return;
  }
  for (const url of urls) URL.revokeObjectURL(url);
  urls = [];
  Object.assign(page, {
    losses: [],
    evals: [],
    samples: [],
    files: [],
    tokensPerSecond: undefined,
    exactMatch: undefined,
    error: undefined,
    provider: undefined,
  });
  $("downloads").textContent = "";
  $("log").textContent = "";
  $<HTMLTableElement>("samples").tBodies[0]!.textContent = "";
  for (const id of ["step", "loss", "tps", "exact", "backend-used"]) $(id).textContent = "–";
  drawChart();
  started = performance.now();
  timing.tokens = 0;
  timing.seconds = 0;
  setState("training", "Starting…");
  post({
    type: "train",
    dataset: { name: dataset.name, bytes: dataset.bytes.slice(0) },
    settings: settings(),
    outType: $<HTMLSelectElement>("out_type").value as OutType,
    backend: $<HTMLSelectElement>("backend").value as Backend,
    // ?threads=N sets the WASM threads (benchmarks); the default is the worker's.
    ...(new URLSearchParams(location.search).has("threads")
      ? { threads: Number(new URLSearchParams(location.search).get("threads")) }
      : {}),
    ...(lora && folder ? { base: folder } : {}),
  });
}

function drawChart(): void {
  const series = [
    { name: "train loss", color: "#1f77b4", points: page.losses.map((l) => ({ step: l.step, value: l.loss })) },
    { name: "eval loss", color: "#d62728", points: page.evals.map((e) => ({ step: e.step, value: e.loss })) },
  ];
  $("chart").innerHTML = page.losses.length ? lossCurveSvg(series, "loss") : "";
}

function showSamples(samples: EvalSample[]): void {
  const body = $<HTMLTableElement>("samples").tBodies[0]!;
  body.textContent = "";
  for (const s of samples) {
    const row = body.insertRow();
    row.insertCell().textContent = s.prompt;
    row.insertCell().textContent = s.expected;
    row.insertCell().textContent = s.generated;
    const mark = row.insertCell();
    const ok = s.generated === s.expected;
    mark.textContent = ok ? "✓" : "✗";
    mark.className = ok ? "ok" : "bad";
  }
}

function onEvent(e: WebTrainEvent): void {
  switch (e.type) {
    case "info":
    case "export":
      log(e.message);
      if (e.type === "export") $("status").textContent = `Exporting: ${e.message}…`;
      break;
    case "warning":
      log(`warning: ${e.message}`);
      break;
    case "issues":
      log(`${e.invalid} of ${e.records} records are invalid:`);
      for (const line of e.issues) log(`  ${line}`);
      break;
    case "start":
      page.provider = e.provider;
      $("backend-used").textContent =
        e.provider === "wasm" ? `WASM × ${page.runtime?.threads ?? 1} thread${page.runtime?.threads === 1 ? "" : "s"}` : e.provider;
      log(
        `${e.mode === "full" ? "training every weight" : "training LoRA adapters"}: ${e.trainableParameters.toLocaleString("en-US")} of ${e.totalParameters.toLocaleString("en-US")} parameters, vocabulary ${e.vocabSize}, ${e.trainExamples} train / ${e.evalExamples} eval examples, ${e.totalSteps} steps`,
      );
      break;
    case "step": {
      page.losses.push({ step: e.step, loss: e.loss });
      $("step").textContent = `${e.step} / ${e.totalSteps}`;
      $("loss").textContent = e.loss.toFixed(4);
      // tokens/s over the run so far (the first step includes building the session)
      if (e.step > 1) {
        timing.tokens += e.tokens;
        timing.seconds += e.seconds;
      }
      if (timing.seconds > 0) $("tps").textContent = Math.round(timing.tokens / timing.seconds).toLocaleString("en-US");
      $("status").textContent = `Training… ${((performance.now() - started) / 1000).toFixed(0)} s`;
      if (e.step % 5 === 0 || e.step === e.totalSteps || e.step < 5) drawChart();
      break;
    }
    case "eval":
      page.evals.push({ step: e.step, loss: e.loss, ...(e.exactMatch !== undefined ? { exactMatch: e.exactMatch } : {}) });
      log(
        `eval at step ${e.step}: loss ${e.loss.toFixed(4)}, next-token accuracy ${(100 * e.accuracy).toFixed(1)}%${e.exactMatch !== undefined ? `, exact match ${(100 * e.exactMatch).toFixed(1)}%` : ""}`,
      );
      if (e.exactMatch !== undefined) $("exact").textContent = `${(100 * e.exactMatch).toFixed(0)}%`;
      page.samples = e.samples;
      showSamples(e.samples);
      drawChart();
      break;
  }
}

worker.onmessage = (message: MessageEvent<FromWorker>) => {
  const m = message.data;
  switch (m.type) {
    case "runtime":
      page.runtime = m.info;
      log(
        `ONNX Runtime Web: ${m.info.providers.join(" → ")}; WASM threads ${m.info.threads}${m.info.crossOriginIsolated ? "" : " (the page is not cross-origin isolated: one thread)"}; WebGPU ${m.info.webgpu ? "available" : "not available"}`,
      );
      break;
    case "report": {
      page.report = m.lines;
      const el = $("report");
      el.textContent = m.lines.join("\n");
      el.classList.toggle("bad", m.report.invalid > 0);
      break;
    }
    case "event":
      onEvent(m.event);
      break;
    case "done": {
      page.provider = m.provider;
      page.tokensPerSecond = m.tokensPerSecond;
      page.samples = m.samples;
      if (m.exactMatch !== undefined) page.exactMatch = m.exactMatch;
      showSamples(m.samples);
      drawChart();
      const list = $("downloads");
      for (const f of m.files) {
        const url = URL.createObjectURL(new Blob([f.bytes], { type: f.type }));
        urls.push(url);
        const a = document.createElement("a");
        a.href = url;
        a.download = f.name;
        a.textContent = f.name;
        a.dataset.file = f.name;
        const item = document.createElement("li");
        item.append(a, ` (${formatBytes(f.bytes.byteLength)})`);
        list.append(item);
        page.files.push(f.name);
      }
      if (Number.isFinite(m.tokensPerSecond)) $("tps").textContent = Math.round(m.tokensPerSecond).toLocaleString("en-US");
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      setState(
        "done",
        `${m.stopped === "completed" ? "Done" : `Stopped (${m.stopped})`}: ${m.steps} steps in ${seconds} s on ${m.provider}. Download the GGUF below.`,
      );
      break;
    }
    case "error":
      page.error = `${m.name}: ${m.message}`;
      log(`${m.name}: ${m.message}`);
      setState("error", m.message.split("\n")[0]!);
      break;
  }
};
worker.onerror = (e) => {
  page.error = e.message;
  setState("error", `The worker failed: ${e.message}`);
};

function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

$("train").addEventListener("click", () => void train().catch((e: Error) => setState("error", e.message)));
$("stop").addEventListener("click", () => post({ type: "stop" }));
$<HTMLSelectElement>("example").addEventListener("change", () => {
  dropped = undefined;
  input("dataset-file").value = "";
  void validate();
});
input("dataset-file").addEventListener("change", () => {
  const file = input("dataset-file").files?.[0];
  if (file) void useFile(file);
});
const drop = $("drop");
drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const file = e.dataTransfer?.files[0];
  if (file) void useFile(file);
});
for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="mode"]')) {
  radio.addEventListener("change", () => {
    const lora = radio.value === "lora" && radio.checked;
    $("scratch-fields").hidden = lora;
    $("lora-fields").hidden = !lora;
  });
}
input("model-folder").addEventListener("change", () => {
  const files = [...(input("model-folder").files ?? [])];
  if (files.length === 0) return;
  const root = (files[0]!.webkitRelativePath || files[0]!.name).split("/")[0]!;
  folder = { name: root, files: files.map((f) => [(f.webkitRelativePath || f.name).split("/").slice(1).join("/") || f.name, f]) };
  (document.querySelector('input[name="mode"][value="lora"]') as HTMLInputElement).click();
  log(`model folder ${root}: ${files.length} files`);
});
void validate();
