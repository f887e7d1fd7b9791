// Mixed precision for GPU providers. On CUDA (and WebGPU) the step graph computes in float16 with the frozen
// weights stored in float16, while the trainable tensors (LoRA or full), their gradients, the loss, AdamW and its
// moments stay float32 ("master weights"): 16-bit values never cross the JavaScript boundary (bfloat16 cannot:
// onnxruntime-node refuses bfloat16 inputs and outputs). float16 gradients underflow without loss scaling, so the
// loss is multiplied by a dynamic scale before the backward (LossScaler) and the gradients divided after it; a step
// that overflows changes nothing and halves the scale. bfloat16 has float32's range and needs no scaling, but only
// GPUs from NVIDIA's Ampere generation on compute it.
// The CPU trains in float32: ONNX Runtime's CPU provider has no bfloat16 kernels and runs float16 by casting every
// op back to float32 (onnxruntime.md §4), so 16-bit compute there only adds casts.
// Not measured on a GPU here: no GPU machine was available (docs/training.md).

export type Precision = "float32" | "float16" | "bfloat16";

/** The compute precision a provider trains in. */
export function precisionFor(provider: string): Precision {
  return provider === "cuda" || provider === "webgpu" ? "float16" : "float32";
}

/** Dynamic loss scaling (as PyTorch's GradScaler): start high, halve on overflow, double after a run of good steps. */
export class LossScaler {
  constructor(
    public scale = 2 ** 16,
    readonly growthInterval = 2000,
    readonly minScale = 1,
  ) {}
  private good = 0;

  /** Record a step: `finite` = its gradients were finite. Returns false when the step was skipped (overflow). */
  update(finite: boolean): boolean {
    if (!finite) {
      this.scale = Math.max(this.minScale, this.scale / 2);
      this.good = 0;
      return false;
    }
    if (++this.good >= this.growthInterval) {
      this.scale *= 2;
      this.good = 0;
    }
    return true;
  }

  /** Overflowing even at the smallest scale: the loss itself diverged. */
  get exhausted(): boolean {
    return this.scale <= this.minScale;
  }
}
