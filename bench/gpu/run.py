"""The GPU check, run on a GPU machine (PyTorch + PEFT + NVIDIA driver; no Node, no network) from its bundle:

    python3 bench/gpu/run.py bench/gpu/out/neural-gpu.tar.xz            # on the GPU machine (results under $OUT)
    python3 bench/gpu/run.py bench/gpu/out/neural-gpu.tar.xz --dry-run  # here: CPU provider, tiny shapes

Unpacks the bundle (a Node binary, onnxruntime-node, our bundled trainer step, the PyTorch script), then in one
time budget (default 470 s): our LoRA step on onnxruntime-node's WebGPU provider (Dawn over Vulkan), on CUDA where
its provider libraries are present, and PyTorch + PEFT in bfloat16 on the same shapes and tokens. GPU memory of our
side = the peak of nvidia-smi's memory.used while it runs, minus the value before. Writes results.json and
summary.md to $OUT (or beside the bundle) and prints the summary.
"""
import json, os, shutil, subprocess, sys, tarfile, tempfile, threading, time

args = sys.argv[1:]
if not args or args[0].startswith("-"):
    print(__doc__)
    sys.exit(2)
bundle = args[0]
dry = "--dry-run" in args


def opt(name, default):
    return args[args.index(name) + 1] if name in args else default


budget = float(opt("--budget", "470"))
started = time.time()
out_dir = os.environ.get("OUT") or os.path.dirname(os.path.abspath(bundle))
os.makedirs(out_dir, exist_ok=True)
work = tempfile.mkdtemp(prefix="neural-gpu-")
with tarfile.open(bundle) as tf:
    tf.extractall(work)
root = os.path.join(work, "neural-gpu")
node = os.path.join(root, "node")
step = os.path.join(root, "step.mjs")

if dry:
    shape = ["--model", "bench-small", "--layers", "2", "--batch", "2", "--seq", "64", "--steps", "2", "--warmup", "1"]
    providers = [("cpu", "float32")]
else:
    shape = ["--model", opt("--model", "qwen2.5-0.5b"), "--batch", opt("--batch", "4"), "--seq", opt("--seq", "512"),
             "--steps", opt("--steps", "6"), "--warmup", opt("--warmup", "2")]
    if opt("--layers", ""):
        shape += ["--layers", opt("--layers", "")]
    # float16 is what the trainer picks on a GPU provider; float32 as the fallback when float16 fails.
    providers = [("webgpu", "auto"), ("webgpu", "float32"), ("cuda", "auto")]


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception as e:  # missing tool
        return f"({cmd[0]}: {e.__class__.__name__})"


class GpuMemory:
    """Peak of nvidia-smi's memory.used (MiB) while a command runs."""

    def __init__(self):
        self.peak = None
        self.base = self.read()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    @staticmethod
    def read():
        try:
            r = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=10)
            return float(r.stdout.split()[0]) if r.returncode == 0 and r.stdout.strip() else None
        except Exception:
            return None

    def loop(self):
        while not self.stop.is_set():
            v = self.read()
            if v is not None:
                self.peak = v if self.peak is None else max(self.peak, v)
            self.stop.wait(0.25)

    def __enter__(self):
        if self.base is not None:
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()

    def used(self):
        return None if self.peak is None or self.base is None else round(self.peak - self.base, 1)


def run_json(cmd, timeout, env=None):
    """Runs cmd; returns (parsed last stdout line or None, error text or None, seconds)."""
    t0 = time.time()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=max(5, timeout), env=env)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:.0f} s", time.time() - t0
    lines = [l for l in r.stdout.strip().split("\n") if l.startswith("{")]
    if r.returncode != 0 or not lines:
        tail = (r.stderr.strip() or r.stdout.strip()).split("\n")[-8:]
        return None, f"exit {r.returncode}: " + " | ".join(tail), time.time() - t0
    return json.loads(lines[-1]), None, time.time() - t0


def left():
    return budget - (time.time() - started)


results = {
    "mode": "dry-run (CPU provider, tiny shapes)" if dry else "gpu",
    "bundle": os.path.basename(bundle),
    "bundle_bytes": os.path.getsize(bundle),
    "machine": {
        "uname": sh(["uname", "-srm"]),
        "gpu": sh(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]),
        "vulkan": sh(["vulkaninfo", "--summary"])[:2000],
        "nproc": os.cpu_count(),
    },
    "ours": [],
    "torch": None,
}

def vulkan_env():
    """Environment for Dawn's Vulkan backend: the bundled loader where the machine has none, and an ICD file for the
    NVIDIA driver where the container has its library but no ICD file. Returns (env, notes)."""
    env, notes = dict(os.environ), []
    cache = sh(["ldconfig", "-p"])
    if "libvulkan.so.1" not in cache:
        bundled = os.path.join(root, "lib")
        if os.path.exists(os.path.join(bundled, "libvulkan.so.1")):
            env["LD_LIBRARY_PATH"] = bundled + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
            notes.append("Vulkan loader: the bundled libvulkan.so.1 (none on this machine)")
        else:
            notes.append("Vulkan loader: none on this machine and none bundled")
    icd_dirs = ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d", "/usr/local/share/vulkan/icd.d"]
    icds = [os.path.join(d, f) for d in icd_dirs if os.path.isdir(d) for f in os.listdir(d)]
    if not any("nvidia" in f for f in icds) and "VK_ICD_FILENAMES" not in env:
        if "libGLX_nvidia.so.0" in cache:
            icd = os.path.join(work, "nvidia_icd.json")
            with open(icd, "w") as f:
                json.dump({"file_format_version": "1.0.0", "ICD": {"library_path": "libGLX_nvidia.so.0", "api_version": "1.3.0"}}, f)
            env["VK_ICD_FILENAMES"] = icd
            notes.append("Vulkan ICD: written for libGLX_nvidia.so.0 (the container had no nvidia_icd.json)")
        else:
            notes.append("Vulkan ICD: no nvidia_icd.json and no libGLX_nvidia.so.0 (driver capabilities without 'graphics'?)")
    return env, notes


gpu_env, vulkan_notes = vulkan_env()
results["machine"]["vulkan_setup"] = vulkan_notes

tokens = os.path.join(work, "tokens.json")
dumped = subprocess.run([node, step, "--dump-tokens", tokens, *shape], capture_output=True, text=True, timeout=120)
if dumped.returncode != 0:
    print(f"the bundled Node cannot run step.mjs: {dumped.stderr.strip()[-2000:]}")
    sys.exit(1)

# Ours, per provider. A CUDA attempt needs onnxruntime-node's CUDA provider library beside libonnxruntime.
ort_bin = os.path.join(root, "node_modules", "onnxruntime-node", "bin", "napi-v6", "linux", "x64")
webgpu_ok = False
for provider, precision in providers:
    if provider == "webgpu" and precision == "float32" and webgpu_ok:
        continue
    if provider == "cuda" and not os.path.exists(os.path.join(ort_bin, "libonnxruntime_providers_cuda.so")):
        results["ours"].append({"provider": "cuda", "skipped": "onnxruntime-node's CUDA provider (libonnxruntime_providers_cuda.so, ~300 MB with its CUDA/cuDNN needs) does not fit the 64 MiB bundle and is not on this machine"})
        continue
    reserve = 0 if dry else 150  # keep time for PyTorch
    if left() - reserve < 30:
        results["ours"].append({"provider": provider, "precision": precision, "skipped": "out of time budget"})
        continue
    with GpuMemory() as mem:
        res, err, secs = run_json([node, step, "--provider", provider, "--precision", precision, *shape], left() - reserve, env=gpu_env)
    entry = {"provider": provider, "precision": precision, "seconds": round(secs, 1), "gpuMemoryMiB": mem.used()}
    if res:
        entry.update(res)
        if provider == "webgpu":
            webgpu_ok = True
    else:
        entry["error"] = err
    results["ours"].append(entry)
    print(json.dumps({k: entry.get(k) for k in ("provider", "precision", "tokensPerSecond", "gpuMemoryMiB", "error")}), flush=True)

# PyTorch + PEFT, bfloat16 (float32 on the CPU in a dry run).
torch_cmd = [sys.executable, os.path.join(root, "torch_peft_step.py"), "--tokens", tokens,
             "--model", shape[shape.index("--model") + 1], "--steps", shape[shape.index("--steps") + 1], "--warmup", shape[shape.index("--warmup") + 1]]
if "--layers" in shape:
    torch_cmd += ["--layers", shape[shape.index("--layers") + 1]]
if dry:
    torch_cmd += ["--device", "cpu", "--dtype", "float32"]
with GpuMemory() as mem:
    res, err, secs = run_json(torch_cmd, max(30, left()))
results["torch"] = dict(res or {"error": err}, seconds=round(secs, 1), gpuMemoryUsedMiB=mem.used())

best = max((o for o in results["ours"] if o.get("tokensPerSecond")), key=lambda o: o["tokensPerSecond"], default=None)
t = results["torch"]
lines = [
    f"GPU check ({results['mode']}), bundle {results['bundle']} ({results['bundle_bytes'] / 2**20:.1f} MiB), {time.time() - started:.0f} s",
    f"machine: {results['machine']['uname']}; GPU: {results['machine']['gpu'] or 'none'}; {results['machine']['nproc']} CPUs; {'; '.join(vulkan_notes) or 'Vulkan: as installed'}",
    "| side | provider / dtype | tokens/s | step (median) | GPU memory | first → last loss | note |",
    "|---|---|---|---|---|---|---|",
]
for o in results["ours"]:
    if o.get("tokensPerSecond"):
        lines.append(f"| ours | {o['provider']} / {o['precision']} | {o['tokensPerSecond']:.0f} | {o['stepSecondsMedian']:.3f} s | {'-' if o.get('gpuMemoryMiB') is None else str(o['gpuMemoryMiB']) + ' MiB'} | {o['losses'][0]:.4f} → {o['losses'][-1]:.4f} | build+open {o['buildAndOpenSeconds']:.0f} s |")
    else:
        lines.append(f"| ours | {o['provider']} / {o.get('precision', '-')} | - | - | - | - | {o.get('skipped') or o.get('error')} |")
if t.get("tokensPerSecond"):
    mem = t.get("gpuMaxAllocatedMiB")
    lines.append(f"| PyTorch + PEFT | {t.get('device')} / {t.get('dtype')} | {t['tokensPerSecond']:.0f} | {t['stepSecondsMedian']:.3f} s | {mem} MiB allocated, {t.get('gpuMemoryUsedMiB')} MiB nvidia-smi | {t['losses'][0]:.4f} → {t['losses'][-1]:.4f} | {t.get('engine')} |")
else:
    lines.append(f"| PyTorch + PEFT | - | - | - | - | - | {t.get('error')} |")
if best and t.get("tokensPerSecond"):
    lines.append(f"ours ({best['provider']}) ÷ PyTorch tokens/s: {best['tokensPerSecond'] / t['tokensPerSecond']:.2f}×")
results["summary"] = "\n".join(lines)
with open(os.path.join(out_dir, "results.json"), "w") as f:
    json.dump(results, f, indent=1)
with open(os.path.join(out_dir, "summary.md"), "w") as f:
    f.write(results["summary"] + "\n")
print(results["summary"])
shutil.rmtree(work, ignore_errors=True)
ok = bool(best) if dry else True
sys.exit(0 if ok else 1)
