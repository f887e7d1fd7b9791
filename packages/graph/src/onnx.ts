// Serialization to an ONNX ModelProto (IR version 10, opset 21–23). Composite ops are expanded, dead nodes dropped,
// and initializers at or above a size threshold are stored as external data (a separate file, so models over the
// 2 GB protobuf limit work): the model bytes say where each tensor lies, and `external` says what to write there.

import { byteLength, type DType, onnxDataType, type TypedArray, typedArrayOf } from "./dtype.js";
import { SerializeError, fmtShape } from "./errors.js";
import { Graph, type Node, type Tensor, bytesOf } from "./graph.js";
import { ProtoWriter } from "./proto.js";

// ---------------------------------------------------------------------------------------------------------------
// attributes and the emitter that ops lower through

export type AttrValue =
  | { type: "float"; value: number }
  | { type: "int"; value: number }
  | { type: "string"; value: string }
  | { type: "floats"; value: number[] }
  | { type: "ints"; value: number[] };

/** Typed attribute values (ONNX checks attribute types strictly: epsilon is a FLOAT, axis an INT, ...). */
export const attr = {
  float: (value: number): AttrValue => ({ type: "float", value }),
  int: (value: number): AttrValue => ({ type: "int", value }),
  string: (value: string): AttrValue => ({ type: "string", value }),
  floats: (value: number[]): AttrValue => ({ type: "floats", value }),
  ints: (value: number[]): AttrValue => ({ type: "ints", value }),
  dtype: (d: DType): AttrValue => ({ type: "int", value: onnxDataType[d] }),
};

export interface Emitter {
  /** Emit one ONNX node. `outputs`: the value names to produce, or how many fresh ones. Returns the output names. */
  node(
    opType: string,
    inputs: readonly string[],
    attrs?: Record<string, AttrValue>,
    outputs?: readonly string[] | number,
    domain?: string,
  ): string[];
  /** A 1-D int64 constant (axes, shapes, sizes). */
  ints(values: readonly number[]): string;
  /** A 0-D constant of a dtype. */
  scalar(value: number, dtype: DType): string;
}

interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attrs: Record<string, AttrValue>;
}

interface OnnxInitializer {
  name: string;
  dtype: DType;
  shape: readonly number[];
  data: TypedArray | (() => TypedArray | Promise<TypedArray>);
}

// ---------------------------------------------------------------------------------------------------------------
// expansion of composites and dead-code elimination

/** A copy of `g` restricted to what its outputs need, with composite ops expanded into primitives. */
export function flatten(g: Graph, outputs?: readonly string[]): Graph {
  let src = g;
  if (outputs) {
    for (const name of outputs) if (!g.outputs.some((o) => o.name === name)) throw new SerializeError(`no output named ${name}`);
  }
  for (let round = 0; ; round++) {
    const live = liveNodes(src, round === 0 ? outputs : undefined);
    const out = new Graph({ name: g.name, dims: g.dims });
    const map = new Map<number, Tensor>();
    const get = (t: Tensor): Tensor => {
      let m = map.get(t.id);
      if (!m) {
        if (t.source.kind === "node") throw new SerializeError(`internal: ${t} used before it was produced`);
        map.set(t.id, (m = out.adopt(t)));
      }
      return m;
    };
    // Keep every declared input, even an unused one, so feeds always match the model's inputs.
    for (const t of src.inputs) get(t);
    let expanded = false;
    for (const node of src.nodes) {
      if (!live.has(node.id)) continue;
      const inputs = node.inputs.map(get);
      let outs: Tensor[];
      if (node.op.lower) outs = out.withScope(node.scope, () => out.apply(node.op, inputs, node.attrs));
      else if (node.op.expand) {
        const scope = node.scope ? `${node.scope}/${node.op.name}` : node.op.name;
        outs = out.withScope(scope, () => node.op.expand!(inputs, node.attrs));
        expanded = true;
        node.outputs.forEach((o, i) => {
          const e = outs[i]!;
          if (e.dtype !== o.dtype || e.shape.join() !== o.shape.join()) {
            throw new SerializeError(`${node.op.name}: expansion gives ${e} for output ${o}`);
          }
        });
      } else throw new SerializeError(`${node.op.name} has neither a lowering nor an expansion`);
      node.outputs.forEach((o, i) => map.set(o.id, outs[i]!));
    }
    for (const { name, tensor } of src.outputs) if (round > 0 || !outputs || outputs.includes(name)) out.output(name, get(tensor));
    if (!expanded) return out;
    if (round > 20) throw new SerializeError("composite expansion does not terminate");
    src = out;
  }
}

function liveNodes(g: Graph, outputs?: readonly string[]): Set<number> {
  const live = new Set<number>();
  const needed = new Set(g.outputs.filter((o) => !outputs || outputs.includes(o.name)).map((o) => o.tensor.id));
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const node = g.nodes[i]!;
    if (!node.outputs.some((o) => needed.has(o.id))) continue;
    live.add(node.id);
    for (const t of node.inputs) needed.add(t.id);
  }
  return live;
}

// ---------------------------------------------------------------------------------------------------------------
// lowering to ONNX nodes

class OnnxEmitter implements Emitter {
  readonly nodes: OnnxNode[] = [];
  readonly constants: OnnxInitializer[] = [];
  readonly domains = new Set<string>();
  private readonly constNames = new Map<string, string>();
  private fresh = 0;
  /** Name prefix of the nodes being emitted (the IR node's scope and id). */
  prefix = "";

  node(
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    outputs: readonly string[] | number = 1,
    domain = "",
  ): string[] {
    const outs = typeof outputs === "number" ? Array.from({ length: outputs }, () => `_e${this.fresh++}`) : [...outputs];
    this.nodes.push({ name: `${this.prefix}${opType}_${this.nodes.length}`, opType, domain, inputs, outputs: outs, attrs });
    if (domain) this.domains.add(domain);
    return outs;
  }

  constant(dtype: DType, shape: readonly number[], values: readonly number[]): string {
    const key = `${dtype}|${shape.join(",")}|${values.join(",")}`;
    let name = this.constNames.get(key);
    if (!name) {
      name = `_k${this.constNames.size}`;
      this.constNames.set(key, name);
      this.constants.push({ name, dtype, shape, data: typedArrayOf(dtype, values) });
    }
    return name;
  }

  ints(values: readonly number[]): string {
    return this.constant("int64", [values.length], values);
  }

  scalar(value: number, dtype: DType): string {
    return this.constant(dtype, [], [value]);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// serialization

export interface SerializeOptions {
  /** ai.onnx opset, 21 to 23 (default 21). */
  opset?: number;
  /**
   * Store initializers given as functions, and others of at least `threshold` bytes (default 1024), in an external
   * file named `location`, each at an offset aligned to `align` bytes (default 4096, so ORT can memory-map it).
   * Without this option every initializer is stored inside the model (which must then stay under 2 GB).
   */
  externalData?: {
    location: string;
    threshold?: number;
    align?: number;
    /** Where this file's new chunks start (default 0): set it to the size of a data file shared with other models. */
    baseOffset?: number;
    /**
     * Initializers already stored in the data file (by a model written earlier), keyed by `externalKey`: they are
     * referenced at their offsets and not written again, so several models share one copy of their weights.
     */
    placed?: ReadonlyMap<string, { offset: number; length: number }>;
  };
  /** Serialize only these outputs (by name; default all), dropping what only the others need. */
  outputs?: readonly string[];
  producerName?: string;
  docString?: string;
  metadata?: Record<string, string>;
}

/** The key of an initializer in a shared external data file: its name, dtype and shape. */
export const externalKey = (name: string, dtype: DType, shape: readonly number[]): string => `${name}|${dtype}|${shape.join(",")}`;

/** One initializer's bytes in the external data file. */
export interface ExternalChunk {
  name: string;
  /** externalKey(name, dtype, shape); undefined for generated constants (never shared). */
  key?: string;
  offset: number;
  length: number;
  /** Produces the bytes (weights given as functions are read only now). */
  data(): Uint8Array | Promise<Uint8Array>;
}

export interface SerializedModel {
  /** The ModelProto bytes. */
  model: Uint8Array;
  /** What to write into the external data file, in offset order (empty without `externalData`). */
  external: ExternalChunk[];
  /** The external data file's name (relative to the model file) and its total size in bytes (with a shared file:
   * its size once this model's new chunks are appended). */
  externalLocation?: string;
  externalSize: number;
  /** The graph's input and output names, in order. */
  inputNames: string[];
  outputNames: string[];
}

export const IR_VERSION = 10;

/** Serialize a graph to an ONNX ModelProto. */
export function serialize(graph: Graph, options: SerializeOptions = {}): SerializedModel {
  const opset = options.opset ?? 21;
  if (!(opset >= 21 && opset <= 23)) throw new SerializeError(`opset ${opset}: supported are 21 to 23`);
  if (graph.outputs.length === 0) throw new SerializeError(`graph ${graph.name} has no outputs`);
  for (const t of [...graph.inputs, ...graph.initializers]) {
    const n = t.name;
    if (/^_[vcek]\d+$/.test(n)) throw new SerializeError(`name "${n}" is reserved for generated values`);
  }
  const g = flatten(graph, options.outputs);

  // Value names: inputs and initializers keep theirs, node outputs get _v<id>, graph outputs their own name.
  const names = new Map<number, string>();
  const e = new OnnxEmitter();
  const initializers: OnnxInitializer[] = [];
  const shareable = new Set<string>();
  const nameOf = (t: Tensor): string => {
    let n = names.get(t.id);
    if (n !== undefined) return n;
    const s = t.source;
    if (s.kind === "input" || s.kind === "initializer") n = s.name;
    else if (s.kind === "constant") {
      n = `_c${t.id}`;
      initializers.push({ name: n, dtype: t.dtype, shape: t.shape, data: s.data });
    } else n = `_v${t.id}`;
    names.set(t.id, n);
    return n;
  };
  const aliases: { name: string; from: Tensor }[] = [];
  for (const { name, tensor } of g.outputs) {
    if (tensor.source.kind === "node" && !names.has(tensor.id)) names.set(tensor.id, name);
    else aliases.push({ name, from: tensor });
  }
  for (const t of g.initializers) {
    if (t.source.kind === "initializer") {
      initializers.push({ name: nameOf(t), dtype: t.dtype, shape: t.shape, data: t.source.data });
      shareable.add(t.source.name);
    }
  }
  for (const node of g.nodes) {
    const ins = node.inputs.map(nameOf);
    const outs = node.outputs.map(nameOf);
    e.prefix = node.scope ? `${node.scope}/` : "";
    node.op.lower!(e, ins, outs, node.attrs, node as Node);
  }
  e.prefix = "";
  for (const { name, from } of aliases) e.node("Identity", [nameOf(from)], {}, [name]);

  // Only initializers that some node reads.
  const used = new Set(e.nodes.flatMap((n) => n.inputs));
  const inits = [...initializers.filter((i) => used.has(i.name)), ...e.constants];

  // External data layout.
  const external: ExternalChunk[] = [];
  const place = new Map<string, { offset: number; length: number }>();
  const base = options.externalData?.baseOffset ?? 0;
  let size = base;
  if (options.externalData) {
    const threshold = options.externalData.threshold ?? 1024;
    const align = options.externalData.align ?? 4096;
    const placed = options.externalData.placed;
    for (const init of inits) {
      const length = byteLength(
        init.dtype,
        init.shape.reduce((a, b) => a * b, 1),
      );
      // Lazily given weights always go external: they are read only while the data file is written.
      if (length === 0 || (length < threshold && typeof init.data !== "function")) continue;
      const key = shareable.has(init.name) ? externalKey(init.name, init.dtype, init.shape) : undefined;
      const already = key !== undefined ? placed?.get(key) : undefined;
      if (already) {
        if (already.length !== length)
          throw new SerializeError(`initializer ${init.name}: the shared data file holds ${already.length} bytes, ${length} expected`);
        place.set(init.name, already);
        continue;
      }
      const offset = Math.ceil(size / align) * align;
      size = offset + length;
      place.set(init.name, { offset, length });
      const source = init.data;
      external.push({
        name: init.name,
        ...(key !== undefined ? { key } : {}),
        offset,
        length,
        data: () => {
          const check = (arr: TypedArray): Uint8Array => {
            if (arr.byteLength !== length)
              throw new SerializeError(
                `initializer ${init.name}: got ${arr.byteLength} bytes for ${init.dtype}${fmtShape(init.shape)}, expected ${length}`,
              );
            return bytesOf(arr);
          };
          const arr = typeof source === "function" ? source() : source;
          return arr instanceof Promise ? arr.then(check) : check(arr);
        },
      });
    }
  }

  const w = new ProtoWriter();
  w.int(1, IR_VERSION);
  w.string(2, options.producerName ?? "@neural/graph");
  w.message(7, (gw) => {
    for (const n of e.nodes) gw.message(1, (nw) => writeNode(nw, n));
    gw.string(2, graph.name);
    for (const init of inits) {
      gw.message(5, (tw) => writeTensor(tw, init, place.get(init.name), options.externalData?.location));
    }
    if (options.docString) gw.string(10, options.docString);
    for (const t of g.inputs) gw.message(11, (vw) => writeValueInfo(vw, nameOf(t), t.dtype, t.shape));
    for (const { name, tensor } of g.outputs) gw.message(12, (vw) => writeValueInfo(vw, name, tensor.dtype, tensor.shape));
  });
  w.message(8, (ow) => ow.string(1, "").int(2, opset));
  for (const d of e.domains) w.message(8, (ow) => ow.string(1, d).int(2, 1));
  for (const [key, value] of Object.entries(options.metadata ?? {})) w.message(14, (mw) => mw.string(1, key).string(2, value));

  return {
    model: w.finish(),
    external,
    externalLocation: options.externalData?.location,
    externalSize: options.externalData ? size : 0,
    inputNames: g.inputs.map(nameOf),
    outputNames: g.outputs.map((o) => o.name),
  };
}

function writeNode(w: ProtoWriter, n: OnnxNode): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const [name, a] of Object.entries(n.attrs)) w.message(5, (aw) => writeAttr(aw, name, a));
  if (n.domain) w.string(7, n.domain);
}

// AttributeProto.AttributeType: FLOAT 1, INT 2, STRING 3, FLOATS 6, INTS 7.
function writeAttr(w: ProtoWriter, name: string, a: AttrValue): void {
  w.string(1, name);
  switch (a.type) {
    case "float":
      w.float(2, a.value).int(20, 1);
      break;
    case "int":
      w.int(3, a.value).int(20, 2);
      break;
    case "string":
      w.string(4, a.value).int(20, 3);
      break;
    case "floats":
      for (const v of a.value) w.float(7, v);
      w.int(20, 6);
      break;
    case "ints":
      for (const v of a.value) w.int(8, v);
      w.int(20, 7);
      break;
  }
}

function writeTensor(w: ProtoWriter, t: OnnxInitializer, ext: { offset: number; length: number } | undefined, location?: string): void {
  for (const d of t.shape) w.int(1, d);
  w.int(2, onnxDataType[t.dtype]);
  w.string(8, t.name);
  if (ext) {
    w.message(13, (kw) => kw.string(1, "location").string(2, location!));
    w.message(13, (kw) => kw.string(1, "offset").string(2, String(ext.offset)));
    w.message(13, (kw) => kw.string(1, "length").string(2, String(ext.length)));
    w.int(14, 1);
  } else {
    const arr = typeof t.data === "function" ? t.data() : t.data;
    if (arr instanceof Promise) throw new SerializeError(`initializer ${t.name} has asynchronous data: serialize with externalData`);
    const expected = byteLength(
      t.dtype,
      t.shape.reduce((a, b) => a * b, 1),
    );
    if (arr.byteLength !== expected)
      throw new SerializeError(
        `initializer ${t.name}: got ${arr.byteLength} bytes for ${t.dtype}${fmtShape(t.shape)}, expected ${expected}`,
      );
    w.bytes(9, bytesOf(arr));
  }
}

function writeValueInfo(w: ProtoWriter, name: string, dtype: DType, shape: readonly number[]): void {
  w.string(1, name);
  w.message(2, (tw) =>
    tw.message(1, (tt) => {
      tt.int(1, onnxDataType[dtype]);
      tt.message(2, (sw) => {
        for (const d of shape) sw.message(1, (dw) => dw.int(1, d));
      });
    }),
  );
}
