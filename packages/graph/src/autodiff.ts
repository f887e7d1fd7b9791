// Reverse-mode automatic differentiation: walk the nodes from the loss back to the parameters and emit each op's
// gradient rule (ops.ts) as more nodes. Fan-out is accumulated with one Sum per tensor. Inside a recompute region,
// the rules see a copy of the region's forward re-emitted in the backward, fed through barriers (ops.ts `Barrier`)
// that depend on the incoming gradient, so ONNX Runtime neither merges the copy back nor runs it early.

import { isFloat } from "./dtype.js";
import { GradError, fmtShape } from "./errors.js";
import type { Node, NodeView, RecomputeRegion, Tensor } from "./graph.js";
import { barrier, sum, zeros } from "./ops.js";

export interface GradOptions {
  /** The gradient of the loss (defaults to 1; required when the loss is not a scalar). */
  seed?: Tensor;
}

/** Gradients of `loss` with respect to each tensor of `wrt` (zeros where the loss does not depend on it). */
export function grad(loss: Tensor, wrt: readonly Tensor[], options: GradOptions = {}): Tensor[] {
  const g = loss.graph;
  if (g.currentRegion) throw new GradError(`grad() called inside recompute("${g.currentRegion.name}")`);
  if (!isFloat(loss.dtype)) throw new GradError(`grad: the loss must be a float tensor, got ${loss}`);
  for (const t of wrt) {
    if (t.graph !== g) throw new GradError(`grad: ${t} belongs to another graph`);
    if (!isFloat(t.dtype)) throw new GradError(`grad: cannot differentiate with respect to ${t} (not a float tensor)`);
  }
  let seed = options.seed;
  if (seed) {
    if (seed.dtype !== loss.dtype || seed.shape.join() !== loss.shape.join()) {
      throw new GradError(`grad: seed ${seed} does not match the loss ${loss}`);
    }
  } else {
    if (loss.rank !== 0) throw new GradError(`grad: the loss ${loss} is not a scalar; pass a seed`);
    seed = g.scalar(1, loss.dtype);
  }

  // Tensors that depend on some wrt tensor (only those can carry a gradient to it).
  const last = loss.node?.id ?? -1;
  const live = new Set(wrt.map((t) => t.id));
  for (let i = 0; i <= last; i++) {
    const node = g.nodes[i]!;
    if (node.inputs.some((t) => live.has(t.id))) for (const o of node.outputs) live.add(o.id);
  }

  // Gradient contributions per tensor id, summed on first use.
  const parts = new Map<number, Tensor[]>([[loss.id, [seed]]]);
  const total = (t: Tensor): Tensor | undefined => {
    const list = parts.get(t.id);
    if (!list) return undefined;
    if (list.length > 1) parts.set(t.id, [sum(list)]);
    return parts.get(t.id)![0];
  };

  const recomputed = new Map<RecomputeRegion, Map<number, Tensor>>();

  for (let i = last; i >= 0; i--) {
    const node = g.nodes[i]!;
    if (!node.outputs.some((o) => parts.has(o.id))) continue;
    const needs = node.inputs.map((t) => live.has(t.id) && isFloat(t.dtype));
    if (!needs.some(Boolean)) continue;
    if (!node.op.grad) {
      throw new GradError(
        `${node.op.name} (node ${node.id}, inputs ${node.inputs.map((t) => `${t.dtype}${fmtShape(t.shape)}`).join(", ")}) has no gradient rule`,
      );
    }
    const dOut = node.outputs.map((o) => total(o) ?? zeros(g, o.shape, o.dtype));
    const view = node.region
      ? recomputedView(
          node,
          recomputed,
          dOut.find((_, k) => parts.has(node.outputs[k]!.id))!,
          needs,
        )
      : { inputs: node.inputs, outputs: node.outputs, attrs: node.attrs, needs };
    const dIn = g.withScope(node.scope ? `${node.scope}/grad` : "grad", () => node.op.grad!(dOut, view));
    node.inputs.forEach((t, k) => {
      const d = dIn[k];
      if (!needs[k] || !d) return;
      if (d.shape.join() !== t.shape.join() || d.dtype !== t.dtype) {
        throw new GradError(`${node.op.name} (node ${node.id}): gradient ${d} does not match input ${k} ${t}`);
      }
      const list = parts.get(t.id);
      if (list) list.push(d);
      else parts.set(t.id, [d]);
    });
  }
  return wrt.map((t) => total(t) ?? zeros(g, t.shape, t.dtype));
}

/**
 * The node as its gradient rule should see it inside a recompute region: the first time the backward reaches the
 * region, its whole forward is re-emitted, taking every input computed outside the region through a barrier on
 * `token` (a gradient just computed).
 */
function recomputedView(node: Node, cache: Map<RecomputeRegion, Map<number, Tensor>>, token: Tensor, needs: boolean[]): NodeView<unknown> {
  const seg = node.region!;
  let map = cache.get(seg);
  if (!map) {
    map = new Map();
    const barriers = new Map<number, Tensor>();
    const g = node.inputs[0]?.graph ?? token.graph;
    for (const n of seg.nodes) {
      // A copy that reads at least one recomputed tensor differs from its original already. A copy whose inputs
      // all come from outside reads its first input that is not stored data (an initializer or a constant: ORT
      // folds those) through a barrier, so that it is neither merged with the original nor run early.
      const fromInside = n.inputs.some((t) => map!.has(t.id));
      const gate = fromInside ? -1 : n.inputs.findIndex((t) => t.source.kind === "node" || t.source.kind === "input");
      const inputs = n.inputs.map((t, k) => {
        const inside = map!.get(t.id);
        if (inside) return inside;
        if (k !== gate) return t;
        let b = barriers.get(t.id);
        if (!b) barriers.set(t.id, (b = g.withScope(`${n.scope || seg.name}/recompute`, () => barrier(t, token))));
        return b;
      });
      const outs = g.withScope(n.scope ? `${n.scope}/recompute` : "recompute", () => g.apply(n.op, inputs, n.attrs));
      n.outputs.forEach((o, k) => map!.set(o.id, outs[k]!));
    }
    cache.set(seg, map);
  }
  return {
    inputs: node.inputs.map((t) => map!.get(t.id) ?? t),
    outputs: node.outputs.map((t) => map!.get(t.id)!),
    attrs: node.attrs,
    needs,
  };
}
