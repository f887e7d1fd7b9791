"""The GPU check's anchor: a LoRA training step with PyTorch + PEFT in bfloat16, as users run it on a GPU.

Same shapes as our side (Qwen2.5-0.5B's config with random weights, or bench-small's Llama config), LoRA r16,
alpha 32 on the same modules, AdamW (lr 1e-4, weight decay 0.01), gradient clipping at 1, the same token batch
(read from --tokens, written by our side) repeated every step. Prints one JSON line: tokens/s (median step after
warm-up), peak GPU memory (torch.cuda.max_memory_allocated and max_memory_reserved), losses.
  python3 torch_peft_step.py --tokens tokens.json [--model qwen2.5-0.5b --layers N --steps 6 --warmup 2 --device cuda]
"""
import argparse, json, math, resource, sys, time

p = argparse.ArgumentParser()
p.add_argument("--tokens", required=True, help="JSON {batch, seq, vocab, input_ids} written by step.mjs --dump-tokens")
p.add_argument("--model", default="qwen2.5-0.5b", choices=["qwen2.5-0.5b", "bench-small"])
p.add_argument("--layers", type=int, default=0)
p.add_argument("--steps", type=int, default=6)
p.add_argument("--warmup", type=int, default=2)
p.add_argument("--device", default="cuda")
p.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
a = p.parse_args()

try:
    import torch
    import transformers
    import peft
    from peft import LoraConfig, get_peft_model
except ImportError as e:  # reported, not a stack trace
    print(json.dumps({"engine": "pytorch+peft", "error": f"not importable: {e}"}))
    sys.exit(0)

with open(a.tokens) as f:
    data = json.load(f)
B, T = data["batch"], data["seq"]
ids = torch.tensor(data["input_ids"], dtype=torch.long, device="cpu").view(B, T)
labels = ids.clone()
labels[:, 0] = -100  # the row's first token is not learned (as on our side)

dev = torch.device(a.device)
dtype = getattr(torch, a.dtype)
# Weights initialized on the device (faster than on the CPU and moved over), then cast to the dtype.
torch.set_default_device(dev)
if a.model == "qwen2.5-0.5b":
    cfg = transformers.Qwen2Config(
        vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=a.layers or 24, num_attention_heads=14,
        num_key_value_heads=2, max_position_embeddings=32768, rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True,
        use_sliding_window=False,
    )
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    model = transformers.Qwen2ForCausalLM(cfg)
else:
    cfg = transformers.LlamaConfig(
        vocab_size=8192, hidden_size=512, intermediate_size=1408, num_hidden_layers=a.layers or 8, num_attention_heads=8,
        num_key_value_heads=8, max_position_embeddings=2048, rms_norm_eps=1e-5, rope_theta=10000.0,
    )
    targets = ["q_proj", "k_proj", "v_proj", "o_proj"]
    model = transformers.LlamaForCausalLM(cfg)
if cfg.vocab_size != data["vocab"]:
    print(json.dumps({"engine": "pytorch+peft", "error": f"vocab {cfg.vocab_size} != tokens' {data['vocab']}"}))
    sys.exit(0)

model = model.to(dtype=dtype, device=dev)
model.config.use_cache = False
model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=targets, bias="none", task_type="CAUSAL_LM"))
params = [q for q in model.parameters() if q.requires_grad]
opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
ids, labels = ids.to(dev), labels.to(dev)
cuda = dev.type == "cuda"
if cuda:
    torch.cuda.reset_peak_memory_stats()

def sync():
    if cuda:
        torch.cuda.synchronize()

times, losses = [], []
for step in range(a.warmup + a.steps):
    sync()
    t0 = time.perf_counter()
    out = model(input_ids=ids, labels=labels)
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    sync()
    dt = time.perf_counter() - t0
    losses.append(round(out.loss.item(), 5))
    if step >= a.warmup:
        times.append(dt)
times_sorted = sorted(times)
med = times_sorted[len(times_sorted) // 2]
print(json.dumps({
    "engine": f"pytorch {torch.__version__} + peft {peft.__version__} + transformers {transformers.__version__}",
    "device": torch.cuda.get_device_name(0) if cuda else a.device,
    "dtype": a.dtype,
    "model": a.model, "layers": cfg.num_hidden_layers, "batch": B, "seq": T,
    "trainable": sum(q.numel() for q in params),
    "stepSeconds": [round(t, 5) for t in times],
    "stepSecondsMedian": round(med, 5),
    "tokensPerSecond": round(B * T / med, 1),
    "losses": losses,
    "gpuMaxAllocatedMiB": round(torch.cuda.max_memory_allocated() / 2**20, 1) if cuda else None,
    "gpuMaxReservedMiB": round(torch.cuda.max_memory_reserved() / 2**20, 1) if cuda else None,
    "maxRssMiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
}))
