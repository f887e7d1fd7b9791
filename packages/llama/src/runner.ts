// llama.cpp as an oracle and a runner: each model is loaded by node-llama-cpp 3.21.1 (prebuilt CPU binary, no build)
// in its own child process, because a malformed GGUF can make llama.cpp abort() the process that loaded it.
import { fork, type ChildProcess } from "node:child_process";
import { open } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** The file is not a GGUF (checked before llama.cpp ever sees it). */
export class NotGgufError extends Error {
  override name = "NotGgufError";
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: not a GGUF file (${detail})`);
  }
}

/** llama.cpp refused the file (load or context creation failed with an error message). */
export class LlamaLoadError extends Error {
  override name = "LlamaLoadError";
  constructor(
    readonly file: string,
    message: string,
    readonly logs: readonly string[] = [],
  ) {
    super(`${file}: llama.cpp could not load it: ${message}${logs.length ? `\n${logs.slice(-8).join("\n")}` : ""}`);
  }
}

/** The child process died (llama.cpp aborted, crashed or was killed) or timed out. */
export class LlamaChildError extends Error {
  override name = "LlamaChildError";
  constructor(
    readonly file: string,
    message: string,
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly stderr: string,
  ) {
    super(`${file}: ${message}${stderr.trim() ? `\n${stderr.trim().split("\n").slice(-8).join("\n")}` : ""}`);
  }
}

/** A llama.cpp operation failed without killing the child (bad token id, context too small...). */
export class LlamaOperationError extends Error {
  override name = "LlamaOperationError";
  constructor(
    readonly file: string,
    readonly op: string,
    message: string,
  ) {
    super(`${file}: ${op} failed: ${message}`);
  }
}

export interface LoadOptions {
  /** Context size in tokens (node-llama-cpp pads it to 256). Default 256. */
  contextSize?: number;
  /** CPU threads. Default 1 (2-core machines spin badly with more). */
  threads?: number;
  /** LoRA adapters (GGUF, general.type = adapter) applied at load time. */
  lora?: ReadonlyArray<{ path: string; scale?: number }>;
  /** Milliseconds allowed for the load; each later call gets `opTimeoutMs`. Defaults 120 s / 300 s. */
  loadTimeoutMs?: number;
  opTimeoutMs?: number;
  /**
   * Element type of the KV cache (keys and values). llama.cpp's default is F16, which rounds every cached key and
   * value; F32 keeps them exact (what a float32 reference forward computes). Default: llama.cpp's (F16).
   */
  kvCacheType?: "F16" | "F32";
  /**
   * Flash attention on or off. llama.cpp's default ("auto") may enable it, and on CPU it rounds Q to F16.
   * Default: llama.cpp's ("auto").
   */
  flashAttention?: boolean;
}

export interface ModelInfo {
  vocabSize: number;
  bos: number | null;
  eos: number | null;
  eot: number | null;
  /** Every token llama.cpp ends generation at (eos, eot and the tokens its vocab loader marks as EOG, e.g. `</s>`, `<|im_end|>`). */
  eog: number[];
  nl: number | null;
  shouldPrependBos: boolean;
  /** Whether llama_tokenize(add_special = true) appends EOS (tokenizer.ggml.add_eos_token). */
  shouldAppendEos: boolean;
  trainContextSize: number;
  vocabularyType: string;
  contextSize: number;
}

export interface Distributions {
  /** probabilities[i][t] = P(next token = t | tokens[0..i]) over the whole vocabulary (softmax at temperature 0). */
  probabilities: Float64Array[];
  /** llama.cpp's greedy pick after each position. */
  greedy: number[];
}

export interface Generation {
  /** Generated tokens; when generation stopped at an end-of-generation token, it is the last one. */
  tokens: number[];
  text: string;
  /** "eog", "maxTokens" or "stop:<string>". */
  stoppedBy: string;
}

export interface GenerateOptions {
  maxTokens: number;
  /** Stop strings (e.g. ChatML's "<|im_end|>"); the text is cut before the first one. */
  stop?: readonly string[];
  /**
   * Write control tokens into the text (llama_token_to_piece with special = true, piece by piece after the prompt),
   * as NornicDB does, so stop strings such as `</s>` match them. Default false: llama_detokenize of the answer.
   */
  special?: boolean;
  /** 0 (default): greedy. Above 0: llama.cpp's sampler with `topK` (40), `topP` (0.95) and `seed`. */
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  /**
   * Stop only on a token whose piece equals a stop string (NornicDB's rule), the text being the pieces joined;
   * default false: stop when the detokenized text contains a stop string.
   */
  stopPerToken?: boolean;
}

/** The serving prompt of NornicDB: ChatML, generation after `<|im_start|>assistant\n`. */
export function chatmlPrompt(messages: ReadonlyArray<{ role: string; content: string }>): string {
  return messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join("") + "<|im_start|>assistant\n";
}
export const CHATML_STOP = ["<|im_end|>", "<|endoftext|>", "</s>"] as const;

const CHILD = fileURLToPath(new URL("./child.mjs", import.meta.url));

async function checkMagic(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw new NotGgufError(path, `cannot open: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    const buf = new Uint8Array(8);
    const { bytesRead } = await handle.read(buf, 0, 8, 0);
    if (bytesRead < 8) throw new NotGgufError(path, `only ${bytesRead} bytes`);
    const magic = new TextDecoder("latin1").decode(buf.subarray(0, 4));
    if (magic !== "GGUF") throw new NotGgufError(path, `magic ${JSON.stringify(magic)}`);
  } finally {
    await handle.close();
  }
}

/** A GGUF model loaded by llama.cpp in a child process. Always `close()` it (or use `withLlamaModel`). */
export class LlamaModelProcess {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; op: string; timer: NodeJS.Timeout }
  >();
  private stderr = "";
  private dead: LlamaChildError | undefined;
  info!: ModelInfo;

  private constructor(
    readonly file: string,
    private readonly child: ChildProcess,
    private readonly opTimeoutMs: number,
  ) {
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-20000);
    });
    child.on(
      "message",
      (message: { id?: number; ok?: boolean; result?: unknown; error?: { name: string; message: string; logs?: string[] } }) => {
        if (message.id === undefined) return;
        const p = this.pending.get(message.id);
        if (!p) return;
        this.pending.delete(message.id);
        clearTimeout(p.timer);
        if (message.ok) p.resolve(message.result);
        else if (p.op === "load") p.reject(new LlamaLoadError(file, message.error?.message ?? "unknown error", message.error?.logs));
        else p.reject(new LlamaOperationError(file, p.op, message.error?.message ?? "unknown error"));
      },
    );
    child.on("exit", (code, signal) => {
      this.dead = new LlamaChildError(
        file,
        `llama.cpp child process died (exit code ${code}, signal ${signal})`,
        code,
        signal,
        this.stderr,
      );
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(this.dead);
      }
      this.pending.clear();
    });
    child.on("error", () => {});
  }

  /** Spawns a child, loads `path` in llama.cpp and creates a context. */
  static async load(path: string, options: LoadOptions = {}): Promise<LlamaModelProcess> {
    await checkMagic(path);
    for (const a of options.lora ?? []) await checkMagic(a.path);
    const child = fork(CHILD, [], {
      execArgv: [],
      serialization: "advanced",
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      env: { ...process.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: "true", NODE_LLAMA_CPP_GPU: "false" },
    });
    const proc = new LlamaModelProcess(path, child, options.opTimeoutMs ?? 300_000);
    try {
      proc.info = (await proc.call(
        "load",
        {
          path,
          contextSize: options.contextSize ?? 256,
          threads: options.threads ?? 1,
          lora: options.lora?.map((a) => ({ path: a.path, scale: a.scale ?? 1 })),
          kvCacheType: options.kvCacheType,
          flashAttention: options.flashAttention,
        },
        options.loadTimeoutMs ?? 120_000,
      )) as ModelInfo;
    } catch (error) {
      proc.kill();
      throw error;
    }
    return proc;
  }

  private call(op: string, args: unknown, timeoutMs = this.opTimeoutMs): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new LlamaChildError(this.file, `${op} timed out after ${timeoutMs} ms`, null, null, this.stderr));
        this.kill();
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, op, timer });
      this.child.send({ id, op, args });
    });
  }

  /**
   * Tokenizes like llama.cpp does; `special` parses control tokens such as `<|im_start|>`. Nothing is added unless
   * `addBos` (BOS when the vocabulary wants one) or `addSpecial` (llama_tokenize's add_special: BOS and EOS when the
   * vocabulary wants them, what llama.cpp's tools and NornicDB do with a prompt).
   */
  async tokenize(text: string, options: { special?: boolean; addBos?: boolean; addSpecial?: boolean } = {}): Promise<number[]> {
    const tokens = (await this.call("tokenize", { text, special: options.special ?? true })) as number[];
    const bos = (options.addBos || options.addSpecial) && this.info.shouldPrependBos && this.info.bos !== null;
    const eos = options.addSpecial && this.info.shouldAppendEos && this.info.eos !== null;
    return [...(bos ? [this.info.bos!] : []), ...tokens, ...(eos ? [this.info.eos!] : [])];
  }

  async detokenize(tokens: readonly number[], options: { special?: boolean } = {}): Promise<string> {
    return (await this.call("detokenize", { tokens: [...tokens], special: options.special ?? false })) as string;
  }

  /**
   * Full next-token distributions after every position of `tokens` (controlledEvaluate at temperature 0), or only
   * after positions `from` and later (the result then starts at position `from`).
   */
  async distributions(tokens: readonly number[], options: { from?: number } = {}): Promise<Distributions> {
    return (await this.call("distributions", { tokens: [...tokens], from: options.from ?? 0 })) as Distributions;
  }

  /**
   * Generation (greedy unless `temperature` > 0) from tokens, or from a prompt string tokenized as llama.cpp's tools
   * do it: control tokens parsed, BOS/EOS added as the vocabulary asks (llama_tokenize's add_special).
   */
  async generate(input: readonly number[] | string, options: GenerateOptions): Promise<Generation> {
    const tokens = typeof input === "string" ? await this.tokenize(input, { special: true, addSpecial: true }) : [...input];
    return (await this.call("generate", {
      tokens,
      maxTokens: options.maxTokens,
      stop: options.stop ? [...options.stop] : [],
      special: options.special ?? false,
      temperature: options.temperature ?? 0,
      topK: options.topK ?? 40,
      topP: options.topP ?? 0.95,
      seed: options.seed,
      stopPerToken: options.stopPerToken ?? false,
    })) as Generation;
  }

  /** node-llama-cpp's log lines (warnings and errors) captured in the child. */
  async logs(): Promise<string[]> {
    return (await this.call("logs", {})) as string[];
  }

  async close(): Promise<void> {
    if (this.dead) return;
    try {
      await this.call("close", {}, 30_000);
    } catch {
      // already gone
    }
    this.kill();
  }

  private kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}

/** Loads a model in a child process, runs `fn`, and always closes the child. */
export async function withLlamaModel<T>(path: string, options: LoadOptions, fn: (model: LlamaModelProcess) => Promise<T>): Promise<T> {
  const model = await LlamaModelProcess.load(path, options);
  try {
    return await fn(model);
  } finally {
    await model.close();
  }
}
