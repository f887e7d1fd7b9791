"""Anchor for `pnpm bench job`: the same job as users run it in PyTorch, on plain torch (no transformers, no PEFT).

What a user's Hugging Face + PEFT run does, written out by hand the way ../shared/anchors/torch_lora_bench.py is (Debian
python3-torch 1.13 with the OpenMP OpenBLAS, eager on the CPU):
  - the model: Qwen2 (RMSNorm, RoPE, grouped-query attention with q/k/v biases, SwiGLU MLP, tied embeddings) built from
    the bench's config.json and loaded from its bf16 safetensors into float32 (transformers' default dtype);
  - LoRA r16 alpha 32 on q,k,v,o,gate,up,down of every layer (A uniform, B zero: PEFT's initialisation), AdamW on the
    LoRA tensors only, the gradient norm clipped at 1, gradient checkpointing per decoder layer (as
    `model.gradient_checkpointing_enable()`; our trainer checkpoints by default too);
  - the data: the very token rows our run trained on (--rows, a JSON file the bench writes: each example's ids and
    labels, -100 where nothing is learned), one example per row, --batch rows per step padded on the right to the
    longest row of the batch (DataCollatorForSeq2Seq), logits at every position in float32 and the shifted
    cross-entropy over them (transformers' causal-LM loss);
  - then the LoRA merged into the weights and the model saved as float32 safetensors (merge_and_unload +
    save_pretrained). Users then run llama.cpp's convert and quantize; the bench compares our export with ggml's
    quantizer elsewhere, so no export stage runs here.

  /usr/bin/python3 bench/anchors/torch_job_anchor.py --model_dir bench/out/job/qwen2.5-0.5b-shape \
      --rows /tmp/rows.json --batch 4 --threads 2

Prints one JSON line: seconds per stage (prepare, train, merge) and in total, per-step seconds, tokens/s (tokens that
are not padding over the steps' time), padding share, slots, losses, peak RSS.
"""
import argparse, json, math, os, resource, shutil, struct, tempfile, time

t_start = time.perf_counter()
p = argparse.ArgumentParser()
p.add_argument("--model_dir", required=True)
p.add_argument("--rows", required=True, help="JSON: {rows: [{ids: [...], labels: [...]}]}")
p.add_argument("--batch", type=int, default=4)
p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
p.add_argument("--rank", type=int, default=16)
p.add_argument("--alpha", type=float, default=32)
p.add_argument("--no_checkpointing", action="store_true")
p.add_argument("--seed", type=int, default=42)
a = p.parse_args()

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.utils.checkpoint import checkpoint  # noqa: E402

torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)

DTYPES = {"BF16": (torch.bfloat16, 2), "F16": (torch.float16, 2), "F32": (torch.float32, 4)}


def read_safetensors(model_dir):
    """Every tensor of the model directory's *.safetensors files, as float32."""
    out = {}
    for name in sorted(os.listdir(model_dir)):
        if not name.endswith(".safetensors"):
            continue
        with open(os.path.join(model_dir, name), "rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(size))
            data = bytearray(f.read())
        for key, info in header.items():
            if key == "__metadata__":
                continue
            start, end = info["data_offsets"]
            dtype, size = DTYPES[info["dtype"]]
            t = torch.frombuffer(data, dtype=dtype, count=(end - start) // size, offset=start)
            out[key] = t.reshape(info["shape"]).float()
        del data
    return out


class LoRALinear(nn.Module):
    def __init__(s, weight, bias, rank, scale):
        super().__init__()
        s.weight = nn.Parameter(weight, requires_grad=False)
        s.bias = nn.Parameter(bias, requires_grad=False) if bias is not None else None
        out_f, in_f = weight.shape
        s.lora_A = nn.Parameter(torch.empty(rank, in_f))
        nn.init.kaiming_uniform_(s.lora_A, a=math.sqrt(5))
        s.lora_B = nn.Parameter(torch.zeros(out_f, rank))
        s.scale = scale

    def forward(s, x):
        return F.linear(x, s.weight, s.bias) + F.linear(F.linear(x, s.lora_A), s.lora_B) * s.scale

    def merge(s):
        with torch.no_grad():
            s.weight += (s.lora_B @ s.lora_A) * s.scale


class RMSNorm(nn.Module):
    def __init__(s, weight, eps):
        super().__init__()
        s.weight = nn.Parameter(weight, requires_grad=False)
        s.eps = eps

    def forward(s, x):
        return s.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + s.eps))


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), -1)


class Layer(nn.Module):
    def __init__(s, cfg, w, i, linear):
        super().__init__()
        pre = f"model.layers.{i}."
        s.heads, s.kv_heads = cfg["num_attention_heads"], cfg["num_key_value_heads"]
        s.head_dim = cfg["hidden_size"] // s.heads
        s.input_layernorm = RMSNorm(w[pre + "input_layernorm.weight"], cfg["rms_norm_eps"])
        s.post_attention_layernorm = RMSNorm(w[pre + "post_attention_layernorm.weight"], cfg["rms_norm_eps"])
        s.q_proj, s.k_proj, s.v_proj, s.o_proj = (linear(pre + f"self_attn.{m}_proj") for m in "qkvo")
        s.gate_proj, s.up_proj, s.down_proj = (linear(pre + f"mlp.{m}_proj") for m in ("gate", "up", "down"))

    def forward(s, x, cos, sin, mask):
        B, T, D = x.shape
        h = s.input_layernorm(x)
        q = s.q_proj(h).view(B, T, s.heads, s.head_dim).transpose(1, 2)
        k = s.k_proj(h).view(B, T, s.kv_heads, s.head_dim).transpose(1, 2)
        v = s.v_proj(h).view(B, T, s.kv_heads, s.head_dim).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        rep = s.heads // s.kv_heads
        k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(s.head_dim) + mask
        x = x + s.o_proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, D))
        h = s.post_attention_layernorm(x)
        return x + s.down_proj(F.silu(s.gate_proj(h)) * s.up_proj(h))


class Qwen2(nn.Module):
    def __init__(s, cfg, w, rank, alpha):
        super().__init__()

        def linear(name):
            return LoRALinear(w[name + ".weight"], w.get(name + ".bias"), rank, alpha / rank)

        s.embed = nn.Parameter(w["model.embed_tokens.weight"], requires_grad=False)
        s.layers = nn.ModuleList(Layer(cfg, w, i, linear) for i in range(cfg["num_hidden_layers"]))
        s.norm = RMSNorm(w["model.norm.weight"], cfg["rms_norm_eps"])
        head = w.get("lm_head.weight")
        s.lm_head = s.embed if cfg.get("tie_word_embeddings", True) or head is None else nn.Parameter(head, requires_grad=False)
        s.head_dim = cfg["hidden_size"] // cfg["num_attention_heads"]
        s.theta = cfg.get("rope_theta", 10000.0)
        s.checkpointing = False

    def forward(s, ids, attention):
        B, T = ids.shape
        inv = 1.0 / (s.theta ** (torch.arange(0, s.head_dim, 2).float() / s.head_dim))
        freqs = torch.outer(torch.arange(T).float(), inv)
        emb = torch.cat((freqs, freqs), -1)
        cos, sin = emb.cos(), emb.sin()
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        allowed = causal[None, None] & attention[:, None, None, :].bool()
        mask = torch.zeros(B, 1, T, T).masked_fill(~allowed, torch.finfo(torch.float32).min)
        x = F.embedding(ids, s.embed)
        for layer in s.layers:
            x = checkpoint(layer, x, cos, sin, mask, use_reentrant=False) if s.checkpointing else layer(x, cos, sin, mask)
        return F.linear(s.norm(x), s.lm_head).float()


def save_safetensors(path, tensors):
    """float32 safetensors, as save_pretrained writes a model trained in float32."""
    header, offset = {}, 0
    for name, t in tensors.items():
        n = t.numel() * 4
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + n]}
        offset += n
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for t in tensors.values():
            f.write(t.detach().contiguous().numpy().tobytes())


# prepare: the model with its adapters, the optimizer, the rows
t0 = time.perf_counter()
with open(os.path.join(a.model_dir, "config.json")) as f:
    cfg = json.load(f)
weights = read_safetensors(a.model_dir)
model = Qwen2(cfg, weights, a.rank, a.alpha)
del weights
model.checkpointing = not a.no_checkpointing
lora_params = [q for n, q in model.named_parameters() if n.endswith("lora_A") or n.endswith("lora_B")]
opt = torch.optim.AdamW(lora_params, lr=2e-4, weight_decay=0.0)
with open(a.rows) as f:
    rows = json.load(f)["rows"]
prepare_s = time.perf_counter() - t0

# train: one example per row, padded to the longest row of the batch; logits at every position
step_times, losses, tokens, slots, learned = [], [], 0, 0, 0
model.train()
t0 = time.perf_counter()
for start in range(0, len(rows), a.batch):
    batch = rows[start : start + a.batch]
    T = max(len(r["ids"]) for r in batch)
    ids = torch.zeros((len(batch), T), dtype=torch.long)
    labels = torch.full((len(batch), T), -100, dtype=torch.long)
    attention = torch.zeros((len(batch), T), dtype=torch.long)
    for i, r in enumerate(batch):
        ids[i, : len(r["ids"])] = torch.tensor(r["ids"])
        labels[i, : len(r["labels"])] = torch.tensor(r["labels"])
        attention[i, : len(r["ids"])] = 1
    tokens += int(attention.sum())
    slots += len(batch) * T
    learned += int((labels[:, 1:] != -100).sum())
    s = time.perf_counter()
    logits = model(ids, attention)
    loss = F.cross_entropy(logits[:, :-1, :].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100)
    del logits
    loss.backward()
    torch.nn.utils.clip_grad_norm_(lora_params, 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    step_times.append(time.perf_counter() - s)
    losses.append(float(loss))
train_s = time.perf_counter() - t0

# merge the adapters into the weights and save
t0 = time.perf_counter()
out_dir = tempfile.mkdtemp(prefix="torch-job-")
merged = {"model.embed_tokens.weight": model.embed, "model.norm.weight": model.norm.weight}
for i, layer in enumerate(model.layers):
    for name, m in layer.named_modules():
        if isinstance(m, LoRALinear):
            m.merge()
            kind = "self_attn" if name[0] in "qkvo" else "mlp"
            merged[f"model.layers.{i}.{kind}.{name}.weight"] = m.weight
            if m.bias is not None:
                merged[f"model.layers.{i}.{kind}.{name}.bias"] = m.bias
        elif isinstance(m, RMSNorm):
            merged[f"model.layers.{i}.{name}.weight"] = m.weight
save_safetensors(os.path.join(out_dir, "model.safetensors"), merged)
saved_bytes = os.path.getsize(os.path.join(out_dir, "model.safetensors"))
shutil.rmtree(out_dir)
merge_s = time.perf_counter() - t0

print(
    json.dumps(
        {
            "engine": f"pytorch-{torch.__version__}-cpu",
            "seconds": {"prepare": prepare_s, "train": train_s, "merge": merge_s, "total": time.perf_counter() - t_start},
            "step_seconds": step_times,
            "tokens": tokens,
            "slots": slots,
            "learned": learned,
            "tokens_per_second": tokens / sum(step_times) if step_times else 0,
            "padding_share": 1 - tokens / slots if slots else 0,
            "examples": len(rows),
            "steps": len(step_times),
            "losses": losses,
            "saved_bytes": saved_bytes,
            "checkpointing": model.checkpointing,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "threads": a.threads,
        }
    )
)
