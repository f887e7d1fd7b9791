// The tensor-graph IR: a Graph records Nodes (an op applied to tensors); a Tensor is a graph input, an
// initializer (weights), a constant, or one output of a node. Shapes are static: every op infers its output
// dtype and shape when it is added and throws a ShapeError naming the op and the shapes if they do not fit.
// Named dimensions (`new Graph({ dims: { batch: 4, seq: 256 } })`) let one builder make a graph per shape bucket.

import { byteLength, type DType, type TypedArray, typedArrayOf } from "./dtype.js";
import { GraphError, ShapeError, fmtShape } from "./errors.js";
import type { Emitter } from "./onnx.js";

export type Shape = readonly number[];

/** Raw element data of an initializer: a typed array of the dtype (int4/uint4: packed bytes), or a function
 * producing it on demand (possibly async), so that weights are read one at a time while a model file is written. */
export type TensorData = TypedArray | (() => TypedArray | Promise<TypedArray>);

export type Source =
  | { readonly kind: "node"; readonly node: Node; readonly index: number }
  | { readonly kind: "input"; readonly name: string }
  | { readonly kind: "initializer"; readonly name: string; readonly data: TensorData }
  | { readonly kind: "constant"; readonly data: TypedArray };

export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly source: Source,
  ) {}

  /** The name of a graph input or initializer; other tensors are named by their id. */
  get name(): string {
    return this.source.kind === "input" || this.source.kind === "initializer" ? this.source.name : `tensor${this.id}`;
  }

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** The producing node, if any. */
  get node(): Node | undefined {
    return this.source.kind === "node" ? this.source.node : undefined;
  }

  toString(): string {
    const what = this.source.kind === "node" ? `${this.source.node.op.name}#${this.source.node.id}` : this.source.kind;
    return `Tensor(${what} ${this.dtype}${fmtShape(this.shape)})`;
  }
}

/** A region of nodes that the backward pass recomputes instead of keeping (gradient checkpointing). */
export class RecomputeRegion {
  readonly nodes: Node[] = [];
  constructor(
    readonly id: number,
    readonly name: string,
  ) {}
}

export class Node {
  constructor(
    readonly id: number,
    readonly op: OpDef,
    readonly inputs: readonly Tensor[],
    readonly attrs: any,
    readonly region: RecomputeRegion | undefined,
    /** The name scope it was built in ("layers.3/attn"), used to name ONNX nodes. */
    readonly scope: string,
  ) {}
  outputs: readonly Tensor[] = [];
}

export interface OutSpec {
  dtype: DType;
  shape: Shape;
}

/** What a gradient rule sees of its node: the forward tensors (recomputed copies inside a recompute region). */
export interface NodeView<A> {
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
  readonly attrs: A;
  /** needs[i]: whether input i wants a gradient (a rule may skip the work for the others). */
  readonly needs: readonly boolean[];
}

/**
 * An op: shape inference, its ONNX lowering (or an expansion into other ops), and its gradient rule, side by side.
 * `grad` receives the gradient of every output (zeros where nothing flowed) and returns one per input
 * (undefined: no gradient flows to that input). Ops without `grad` are not differentiable.
 */
export interface OpDef<A = any> {
  readonly name: string;
  infer(inputs: readonly Tensor[], attrs: A): OutSpec[];
  /** Primitive: emit ONNX nodes. */
  lower?(e: Emitter, inputs: readonly string[], outputs: readonly string[], attrs: A, node: Node): void;
  /** Composite: build the op from other ops (done at serialization; the op keeps its own gradient rule). */
  expand?(inputs: readonly Tensor[], attrs: A): Tensor[];
  grad?(dOutputs: readonly Tensor[], node: NodeView<A>): (Tensor | undefined)[];
}

export interface GraphOptions {
  /** Named dimensions usable in input shapes, e.g. `{ batch: 4, seq: 256 }`. */
  dims?: Record<string, number>;
  name?: string;
}

export class Graph {
  readonly name: string;
  readonly dims: Readonly<Record<string, number>>;
  readonly nodes: Node[] = [];
  readonly inputs: Tensor[] = [];
  readonly initializers: Tensor[] = [];
  readonly outputs: { name: string; tensor: Tensor }[] = [];
  readonly regions: RecomputeRegion[] = [];
  private nextTensorId = 0;
  private current: RecomputeRegion | undefined;
  private scopes: string[] = [];
  private readonly names = new Set<string>();
  private readonly constants = new Map<string, Tensor>();

  constructor(options: GraphOptions = {}) {
    this.name = options.name ?? "graph";
    this.dims = { ...(options.dims ?? {}) };
  }

  /** The size of a named dimension. */
  dim(name: string): number {
    const d = this.dims[name];
    if (d === undefined) throw new GraphError(`unknown dimension "${name}" (known: ${Object.keys(this.dims).join(", ") || "none"})`);
    return d;
  }

  private resolveShape(shape: readonly (number | string)[], what: string): number[] {
    return shape.map((d) => {
      const n = typeof d === "string" ? this.dim(d) : d;
      if (!Number.isInteger(n) || n < 0) throw new GraphError(`${what}: bad dimension ${String(d)} in [${shape.join(",")}]`);
      return n;
    });
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new GraphError(`name "${name}" is already used in graph ${this.name}`);
    this.names.add(name);
  }

  private tensor(dtype: DType, shape: Shape, source: Source): Tensor {
    return new Tensor(this, this.nextTensorId++, dtype, Object.freeze([...shape]), source);
  }

  /** A value fed at run time. Dimensions may be numbers or names from `dims`. */
  input(name: string, dtype: DType, shape: readonly (number | string)[]): Tensor {
    this.claim(name);
    const t = this.tensor(dtype, this.resolveShape(shape, `input ${name}`), { kind: "input", name });
    this.inputs.push(t);
    return t;
  }

  /** Named weights stored in the model (as external data when large). */
  initializer(name: string, dtype: DType, shape: readonly (number | string)[], data: TensorData): Tensor {
    this.claim(name);
    const s = this.resolveShape(shape, `initializer ${name}`);
    if (typeof data !== "function") checkData(name, dtype, s, data);
    const t = this.tensor(dtype, s, { kind: "initializer", name, data });
    this.initializers.push(t);
    return t;
  }

  /** A small constant (deduplicated by content). `values` are numbers (or bigints for int64), row-major. */
  constant(values: ArrayLike<number | bigint> | number, dtype: DType, shape: Shape = []): Tensor {
    const data = typedArrayOf(dtype, typeof values === "number" ? [values] : values);
    checkData("constant", dtype, shape, data);
    if (data.length > 64) return this.tensor(dtype, shape, { kind: "constant", data });
    const key = `${dtype}|${shape.join(",")}|${Array.from(data as ArrayLike<number | bigint>, String).join(",")}`;
    let t = this.constants.get(key);
    if (!t) {
      t = this.tensor(dtype, shape, { kind: "constant", data });
      this.constants.set(key, t);
    }
    return t;
  }

  /** A scalar constant of a dtype. */
  scalar(value: number, dtype: DType): Tensor {
    return this.constant([value], dtype, []);
  }

  output(name: string, t: Tensor): void {
    if (t.graph !== this) throw new GraphError(`output ${name}: tensor belongs to another graph`);
    this.claim(name);
    this.outputs.push({ name, tensor: t });
  }

  /**
   * Run `build` with every node it adds marked for recomputation: the backward pass re-emits them instead of
   * keeping their activations (gradient checkpointing). Typically one call per transformer block.
   */
  recompute<T>(build: () => T, name = `region${this.regions.length}`): T {
    if (this.current) throw new GraphError(`recompute("${name}") inside recompute("${this.current.name}"): recompute regions do not nest`);
    const seg = new RecomputeRegion(this.regions.length, name);
    this.regions.push(seg);
    this.current = seg;
    try {
      return build();
    } finally {
      this.current = undefined;
    }
  }

  /** Run `build` with nodes named under `name` (nested scopes join with "/"); ONNX node names carry it. */
  scope<T>(name: string, build: () => T): T {
    this.scopes.push(name);
    try {
      return build();
    } finally {
      this.scopes.pop();
    }
  }

  /** Like scope(), but `name` replaces the current scope instead of extending it. */
  withScope<T>(name: string, build: () => T): T {
    const saved = this.scopes;
    this.scopes = name ? [name] : [];
    try {
      return build();
    } finally {
      this.scopes = saved;
    }
  }

  get currentScope(): string {
    return this.scopes.join("/");
  }

  /** The recompute region being built, if any. */
  get currentRegion(): RecomputeRegion | undefined {
    return this.current;
  }

  /** A leaf of another graph mirrored into this one (same name, dtype, shape and data); used by the serializer. */
  adopt(t: Tensor): Tensor {
    if (t.source.kind === "node") throw new GraphError(`adopt: ${t} is not a leaf`);
    const copy = this.tensor(t.dtype, t.shape, t.source);
    if (t.source.kind === "input") this.inputs.push(copy);
    if (t.source.kind === "initializer") this.initializers.push(copy);
    return copy;
  }

  /** Add a node: infer its outputs (throwing ShapeError on a mismatch) and return them. */
  apply<A>(op: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor[] {
    const region = this.current;
    for (const t of inputs) {
      if (t.graph !== this) throw new ShapeError(op.name, `input ${t} belongs to graph ${t.graph.name}, not ${this.name}`);
    }
    const specs = op.infer(inputs, attrs);
    const node = new Node(this.nodes.length, op, inputs, attrs, region, this.currentScope);
    node.outputs = specs.map((s, index) => {
      for (const d of s.shape) if (!Number.isInteger(d) || d < 0) throw new ShapeError(op.name, `inferred bad shape ${fmtShape(s.shape)}`);
      return this.tensor(s.dtype, s.shape, { kind: "node", node, index });
    });
    this.nodes.push(node);
    region?.nodes.push(node);
    return node.outputs as Tensor[];
  }
}

function checkData(name: string, dtype: DType, shape: Shape, data: TypedArray): void {
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.byteLength !== byteLength(dtype, size)) {
    throw new GraphError(`${name}: ${data.byteLength} bytes of data for ${dtype}${fmtShape(shape)} (${byteLength(dtype, size)} expected)`);
  }
}

/** The bytes of a typed array (little-endian platforms). */
export function bytesOf(data: TypedArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
