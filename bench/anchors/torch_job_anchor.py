"""Anchor for `pnpm bench job`: the same job in PyTorch as users run it (transformers + PEFT).

The approach of ../shared/anchors/torch_lora_bench.py (PyTorch eager on the CPU, median step times, peak RSS) on the
real job: the bench's model directory (Qwen2.5-0.5B's shapes, random weights, Qwen2.5's tokenizer) and NornicDB-shaped
JSONL, ChatML with the prompt masked (-100), one example per row padded to the longest row of its batch, logits at
every position (the model's own loss), LoRA r16 alpha 32 on every linear layer (PEFT), AdamW, gradient checkpointing,
then merge_and_unload and save_pretrained (safetensors). With LLAMA_CPP_DIR naming a llama.cpp checkout with a built
llama-quantize, also convert_hf_to_gguf.py + llama-quantize Q4_K_M (the ggml toolchain users run); else that stage is
reported as not run.

  python3 bench/anchors/torch_job_anchor.py --model_dir bench/out/job/qwen2.5-0.5b-shape \
      --dataset bench/out/job/nornicdb-shaped-2000.jsonl --examples 6 --batch 4 --threads 2

Prints one JSON line: seconds per stage and in total, tokens/s (non-padding tokens over step time), padding share,
peak RSS, losses.
"""
import argparse, json, os, random, resource, subprocess, sys, tempfile, time

p = argparse.ArgumentParser()
p.add_argument("--model_dir", required=True)
p.add_argument("--dataset", required=True)
p.add_argument("--examples", type=int, required=True, help="examples to train on (what our run consumed)")
p.add_argument("--batch", type=int, default=4)
p.add_argument("--max_length", type=int, default=1536)
p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
p.add_argument("--seed", type=int, default=42)
p.add_argument("--out", default=None)
a = p.parse_args()

t_start = time.perf_counter()
import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402

torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
random.seed(a.seed)

# prepare: tokenizer, data (ChatML, prompt masked), model with LoRA
t0 = time.perf_counter()
tok = AutoTokenizer.from_pretrained(a.model_dir)
rows = []
with open(a.dataset) as f:
    for line in f:
        if not line.strip():
            continue
        msgs = json.loads(line)["messages"]
        prompt = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in msgs[:-1]) + "<|im_start|>assistant\n"
        answer = msgs[-1]["content"] + "<|im_end|>\n"
        p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        a_ids = tok(answer, add_special_tokens=False)["input_ids"]
        ids = (p_ids + a_ids)[: a.max_length]
        labels = ([-100] * len(p_ids) + a_ids)[: a.max_length]
        rows.append((ids, labels))
random.shuffle(rows)
rows = rows[: a.examples]
model = AutoModelForCausalLM.from_pretrained(a.model_dir, torch_dtype=torch.float32)
model.gradient_checkpointing_enable()
model.enable_input_require_grads()
targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=targets, task_type="CAUSAL_LM"))
opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=2e-4, weight_decay=0.01)
prepare_s = time.perf_counter() - t0

# train: one example per row, padded to the longest row of the batch; logits at every position
pad = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
step_times, losses, tokens, slots = [], [], 0, 0
t0 = time.perf_counter()
model.train()
for start in range(0, len(rows), a.batch):
    batch = rows[start : start + a.batch]
    T = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), T), pad, dtype=torch.long)
    lab = torch.full((len(batch), T), -100, dtype=torch.long)
    att = torch.zeros((len(batch), T), dtype=torch.long)
    for r, (i, l) in enumerate(batch):
        ids[r, : len(i)] = torch.tensor(i)
        lab[r, : len(l)] = torch.tensor(l)
        att[r, : len(i)] = 1
    tokens += int(att.sum())
    slots += len(batch) * T
    s = time.perf_counter()
    out = model(input_ids=ids, attention_mask=att, labels=lab)
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_([q for q in model.parameters() if q.requires_grad], 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    step_times.append(time.perf_counter() - s)
    losses.append(float(out.loss))
train_s = time.perf_counter() - t0

# merge and save
t0 = time.perf_counter()
out_dir = a.out or tempfile.mkdtemp(prefix="torch-job-")
merged = model.merge_and_unload()
merged.save_pretrained(out_dir, safe_serialization=True)
tok.save_pretrained(out_dir)
merge_s = time.perf_counter() - t0

# export with the ggml toolchain, where present
export_s, export = None, "not run (set LLAMA_CPP_DIR to a llama.cpp checkout with a built llama-quantize)"
llama = os.environ.get("LLAMA_CPP_DIR")
if llama:
    t0 = time.perf_counter()
    f32 = os.path.join(out_dir, "model.f32.gguf")
    q = os.path.join(out_dir, "model.Q4_K_M.gguf")
    quantize = next((c for c in [os.path.join(llama, "build", "bin", "llama-quantize"), os.path.join(llama, "llama-quantize")] if os.path.exists(c)), "llama-quantize")
    subprocess.run([sys.executable, os.path.join(llama, "convert_hf_to_gguf.py"), out_dir, "--outtype", "f32", "--outfile", f32], check=True)
    subprocess.run([quantize, f32, q, "Q4_K_M", str(a.threads)], check=True)
    export_s = time.perf_counter() - t0
    export = f"{os.path.getsize(q) / 1e6:.0f} MB"

total_s = time.perf_counter() - t_start
print(json.dumps({
    "seconds": {"prepare": prepare_s, "train": train_s, "merge": merge_s, "export": export_s, "total": total_s},
    "step_seconds": step_times,
    "tokens_per_second": tokens / sum(step_times) if step_times else 0,
    "padding_share": 1 - tokens / slots if slots else 0,
    "examples": len(rows),
    "losses": losses,
    "export": export,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "threads": a.threads,
}))
