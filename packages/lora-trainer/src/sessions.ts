// The sessions of a run on whichever ONNX Runtime it was given (onnxruntime-node or -web: the module is passed in).
// The provider, and so the precision the graphs compute in, is decided once, before any graph is built: a tiny
// probe session tries the providers in order. Each graph is then built on first use for its typed key (kind and
// shape), serialized into a store (memory, or one shared weights file on disk) and opened on that provider.
import {
  Graph,
  add,
  createSessionWithFallback,
  serialize,
  type FallbackOptions,
  type ProviderConfig,
  type TypedArray,
} from "@neural/graph";
import { TrainingError } from "./optimizer.js";
import { precisionFor, type Precision } from "./precision.js";
import type { Note } from "./setup.js";
import type { StepGraphKind } from "./train-step.js";

export type GraphKind = StepGraphKind | "eval" | "decode";

/** One graph of a run: what it computes and its shape (decode: `seq` is the cache's slots). */
export interface GraphKey {
  kind: GraphKind;
  batch: number;
  seq: number;
  /** Step and eval graphs: the positions that get logits and a loss (answer-only loss); absent: all of them. */
  answers?: number;
}

/** A key as a file-name-safe string, unique per graph of a run. */
export const graphKeyId = (key: GraphKey): string =>
  `${key.kind}-${key.batch}x${key.seq}${key.answers === undefined ? "" : `a${key.answers}`}`;

/** The little of an ONNX Runtime module the runner uses: pass `onnxruntime-node` or `onnxruntime-web` itself. */
export interface OrtModule {
  InferenceSession: { create(model: any, options?: any): Promise<any> };
  Tensor: new (type: any, data: any, dims: readonly number[]) => any;
}

interface OrtSession {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown }>>;
  release(): Promise<void>;
}

/** A graph serialized for InferenceSession.create: model bytes or a file path, and external data held in memory. */
export interface StoredGraph {
  model: Uint8Array | string;
  externalData?: { path: string; data: Uint8Array }[];
}

/** A graph input as the runner feeds it. */
export interface GraphInputSpec {
  name: string;
  dtype: string;
  shape: number[];
}

/** Where graphs are serialized before a session opens them. */
export interface GraphStore {
  save(graph: Graph, name: string): Promise<StoredGraph>;
  /** A graph saved earlier (by this run or another), so that it need not be built again. */
  load?(name: string): Promise<{ stored: StoredGraph; inputs: GraphInputSpec[] } | undefined>;
  /** Sessions can be released and reopened from what save() returned (evaluation releases training's). */
  readonly reopens: boolean;
}

/** Graphs serialized in memory; weights of 1 KiB and more travel as in-memory external data. */
export function memoryStore(): GraphStore {
  return {
    reopens: false,
    async save(graph) {
      const serialized = serialize(graph, { externalData: { location: "weights.bin", threshold: 1024, align: 64 } });
      if (serialized.externalSize === 0) return { model: serialized.model };
      const data = new Uint8Array(serialized.externalSize);
      for (const chunk of serialized.external) data.set(await chunk.data(), chunk.offset);
      return { model: serialized.model, externalData: [{ path: serialized.externalLocation!, data }] };
    },
  };
}

export interface RunnerOptions {
  ort: OrtModule;
  store: GraphStore;
  /** Execution providers tried in order, threads and the other session options. */
  session: FallbackOptions;
  /** Changes to `session` for one kind of graph. */
  sessionFor?: (kind: GraphKind) => Partial<FallbackOptions>;
  /** "auto": the provider's own (precision.ts). */
  precision: "auto" | Precision;
  build(key: GraphKey, precision: Precision): Graph;
  /**
   * Frees unreachable arrays now (on Node: nodeGarbageCollector()). Called before the first run (the weights read
   * while setting up a run may be garbage by then) and before a run when the previous one handed back at least
   * GARBAGE_BYTES: its outputs (a full fine-tuning step's gradients) are dropped by then, but the engine frees them
   * only at a later collection, which may come after this run's activations have peaked.
   */
  collectGarbage?: () => void;
}

const GARBAGE_BYTES = 64 * 2 ** 20;

interface Entry {
  key: GraphKey;
  inputs: GraphInputSpec[];
  /** Built by this run (absent when the store had it). */
  graph?: Graph;
  stored?: StoredGraph;
  session?: Promise<OrtSession>;
}

export class GraphRunner {
  private entries = new Map<string, Promise<Entry>>();

  private constructor(
    private readonly options: RunnerOptions,
    private readonly providerConfig: ProviderConfig,
    /** The execution provider every session of the run uses. */
    readonly provider: string,
    /** Why earlier providers were not used, if they were not. */
    readonly message: string | undefined,
    readonly precision: Precision,
  ) {}

  static async open(options: RunnerOptions): Promise<GraphRunner> {
    const probe = new Graph({ name: "probe" });
    const x = probe.input("x", "float32", [1]);
    probe.output("y", add(x, x));
    const created = await createSessionWithFallback<OrtSession>(options.ort.InferenceSession, serialize(probe).model, options.session);
    await created.session.release();
    const config = (options.session.executionProviders ?? ["cpu"]).find((p) => (typeof p === "string" ? p : p.name) === created.provider)!;
    const precision = options.precision === "auto" ? precisionFor(created.provider) : options.precision;
    return new GraphRunner(options, config, created.provider, created.message, precision);
  }

  /** Build a graph and open its session now, instead of at its first run. */
  async prepare(key: GraphKey): Promise<void> {
    const entry = await this.entry(key);
    await (entry.session ??= this.openSession(entry));
  }

  /** Run a graph (built and opened on first use); every graph input must have a value in `feeds`. */
  async run(key: GraphKey, feeds: Readonly<Record<string, TypedArray>>): Promise<Record<string, TypedArray>> {
    const entry = await this.entry(key);
    const session = await (entry.session ??= this.openSession(entry));
    const ortFeeds: Record<string, unknown> = {};
    for (const t of entry.inputs) {
      const data = feeds[t.name];
      if (!data) throw new TrainingError(`internal: no value for graph input ${t.name}`);
      ortFeeds[t.name] = new this.options.ort.Tensor(t.dtype, data, t.shape);
    }
    if (this.handedBack >= GARBAGE_BYTES) this.options.collectGarbage?.();
    const out = await session.run(ortFeeds);
    const outputs = Object.fromEntries(Object.entries(out).map(([name, value]) => [name, value.data as TypedArray]));
    this.handedBack = Object.values(outputs).reduce((n, data) => n + data.byteLength, 0);
    return outputs;
  }
  /** Bytes of the last run's outputs; before the first run, what setting up the run left (unknown: collected too). */
  private handedBack = GARBAGE_BYTES;

  /**
   * Release the sessions of these kinds, to be reopened when next run. Each session maps the weights on its own,
   * and process memory counts every mapping: evaluating with training's sessions released keeps the peak at the
   * larger of the two, not their sum. Does nothing where the store cannot reopen a session.
   */
  async suspend(kinds: readonly GraphKind[]): Promise<void> {
    if (!this.options.store.reopens) return;
    for (const pending of this.entries.values()) {
      const entry = await pending.catch(() => undefined);
      if (!entry?.session || !kinds.includes(entry.key.kind)) continue;
      const session = entry.session;
      entry.session = undefined;
      await (await session).release();
    }
  }

  async release(): Promise<void> {
    for (const pending of this.entries.values()) {
      const entry = await pending.catch(() => undefined);
      if (!entry) continue;
      const session = entry.session;
      entry.session = undefined;
      await (await session?.catch(() => undefined))?.release();
    }
  }

  /** How many graphs this run built (the others came from the store). */
  get built(): number {
    return this.builtCount;
  }
  private builtCount = 0;
  /** Seconds spent building graphs, saving them and opening sessions (reopening suspended ones included). */
  readonly seconds = { build: 0, open: 0 };

  private entry(key: GraphKey): Promise<Entry> {
    const id = graphKeyId(key);
    let entry = this.entries.get(id);
    if (!entry) {
      entry = this.loadOrBuild(key);
      this.entries.set(id, entry);
    }
    return entry;
  }

  /** A graph's name in the store: its key and the precision it computes in. */
  private storedName(key: GraphKey): string {
    return `${graphKeyId(key)}-${this.precision}`;
  }

  private async loadOrBuild(key: GraphKey): Promise<Entry> {
    const loaded = await this.options.store.load?.(this.storedName(key));
    if (loaded) return { key, inputs: loaded.inputs, stored: loaded.stored };
    const t0 = performance.now();
    const graph = this.options.build(key, this.precision);
    this.seconds.build += (performance.now() - t0) / 1000;
    this.builtCount++;
    return { key, graph, inputs: graph.inputs.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] })) };
  }

  private async openSession(entry: Entry): Promise<OrtSession> {
    const t0 = performance.now();
    try {
      return await this.openSessionNow(entry);
    } finally {
      this.seconds.open += (performance.now() - t0) / 1000;
    }
  }

  private async openSessionNow(entry: Entry): Promise<OrtSession> {
    const { key } = entry;
    const stored = entry.stored ?? (await this.options.store.save(entry.graph!, this.storedName(key)));
    if (this.options.store.reopens) entry.stored = stored;
    const options: FallbackOptions = {
      ...this.options.session,
      ...this.options.sessionFor?.(key.kind),
      executionProviders: [this.providerConfig],
      ...(stored.externalData ? { externalData: stored.externalData } : {}),
    };
    return (await createSessionWithFallback<OrtSession>(this.options.ort.InferenceSession, stored.model, options)).session;
  }
}

/** What a user should know about where a run's graphs run. */
export function runnerNotes(runner: GraphRunner): Note[] {
  const notes: Note[] = [];
  if (runner.message) notes.push({ type: "warning", message: runner.message });
  notes.push({ type: "info", message: `running on ONNX Runtime's ${runner.provider} execution provider` });
  if (runner.precision !== "float32") {
    notes.push({
      type: "info",
      message: `mixed precision: ${runner.precision} compute, float32 trainable weights, AdamW and loss${runner.precision === "float16" ? ", dynamic loss scaling" : ""}`,
    });
  }
  return notes;
}
