// Typed errors. Messages name the op and the shapes involved, so a wrong model fails at build time, not in ORT.

export class GraphError extends Error {
  override name = "GraphError";
}

/** Shape or dtype inference failed while adding an op. */
export class ShapeError extends GraphError {
  override name = "ShapeError";
  constructor(
    readonly op: string,
    message: string,
  ) {
    super(`${op}: ${message}`);
  }
}

/** Differentiating through an op that has no gradient rule, or w.r.t. a non-float tensor. */
export class GradError extends GraphError {
  override name = "GradError";
}

/** Serializing a graph to ONNX failed (missing data, name clash, ...). */
export class SerializeError extends GraphError {
  override name = "SerializeError";
}

/** No execution provider could create the session. */
export class SessionError extends GraphError {
  override name = "SessionError";
  constructor(
    message: string,
    readonly attempts: readonly { provider: string; error: string }[],
  ) {
    super(message);
  }
}

export const fmtShape = (s: readonly number[]): string => `[${s.join(",")}]`;
