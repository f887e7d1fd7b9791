// The ONNX Runtime this package runs on is passed in, not imported: onnxruntime-web's module in a browser or a Worker
// (WebGPU or WASM), onnxruntime-node's in Node. Graphs are serialized in memory; weights that are initializers travel
// as in-memory external data, so nothing touches a file system.
import { createSessionWithFallback, serialize, type FallbackOptions, type Graph, type TypedArray } from "@neural/graph";

/** The little of an ONNX Runtime tensor used here. */
export interface OrtTensorLike {
  readonly data: unknown;
  readonly dims: readonly number[];
}

/** The little of an ONNX Runtime session used here. */
export interface OrtSessionLike {
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}

/** What this package needs from `onnxruntime-web` or `onnxruntime-node`: pass the module itself. */
export interface OrtRuntime {
  InferenceSession: { create(model: Uint8Array, options?: any): Promise<any> };
  Tensor: new (type: any, data: any, dims: readonly number[]) => any;
}

/** Where and how sessions run: providers tried in order (["webgpu", "wasm"] in a browser, ["cpu"] in Node). */
export interface SessionSettings extends FallbackOptions {}

/** A session over one graph: feeds and outputs are plain typed arrays, by graph input/output name. */
export class GraphSession {
  private constructor(
    readonly graph: Graph,
    private readonly ort: OrtRuntime,
    private readonly session: OrtSessionLike,
    /** The execution provider that runs it. */
    readonly provider: string,
    /** Why earlier providers fell back, when they did. */
    readonly message: string | undefined,
  ) {}

  static async create(ort: OrtRuntime, graph: Graph, settings: SessionSettings = {}): Promise<GraphSession> {
    // Initializers of 1 KiB and more go to an in-memory data file: the ModelProto stays small and weights that are
    // read asynchronously (a model dropped in a browser) work too.
    const serialized = serialize(graph, { externalData: { location: "weights.bin", threshold: 1024, align: 64 } });
    const options: FallbackOptions = { ...settings };
    if (serialized.externalSize > 0) {
      const data = new Uint8Array(serialized.externalSize);
      for (const chunk of serialized.external) data.set(await chunk.data(), chunk.offset);
      options.externalData = [{ path: serialized.externalLocation!, data }];
    }
    const created = await createSessionWithFallback<OrtSessionLike>(ort.InferenceSession, serialized.model, options);
    return new GraphSession(graph, ort, created.session, created.provider, created.message);
  }

  /** Run once: every graph input must have a value in `feeds`. */
  async run(feeds: Readonly<Record<string, TypedArray>>): Promise<Record<string, TypedArray>> {
    const ortFeeds: Record<string, OrtTensorLike> = {};
    for (const t of this.graph.inputs) {
      const name = (t.source as { name: string }).name;
      const data = feeds[name];
      if (!data) throw new WebTrainerError(`internal: no value for graph input ${name}`);
      ortFeeds[name] = new this.ort.Tensor(t.dtype, data, t.shape);
    }
    const out = await this.session.run(ortFeeds);
    const result: Record<string, TypedArray> = {};
    for (const [name, value] of Object.entries(out)) result[name] = value.data as TypedArray;
    return result;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** Something about a training run that cannot work (bad settings, a model that is not usable). */
export class WebTrainerError extends Error {
  override name = "WebTrainerError";
}
