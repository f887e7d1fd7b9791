// What the benchmarks that compare with PyTorch share: the interpreter with torch (installed when missing) and this
// machine's fp32 FMA peak, which the fractions of the peak are taken over.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The Python interpreter the PyTorch anchors run with: Debian's, where python3-torch installs. */
export const TORCH_PYTHON = "/usr/bin/python3";

/** Debian's python3-torch with the OpenMP OpenBLAS, installed when missing (root); a reason when it cannot be. */
export function ensureTorch(): { ok: boolean; note: string } {
  const probe = () =>
    spawnSync(TORCH_PYTHON, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" }).status === 0 &&
    spawnSync("dpkg-query", ["-W", "-f=${Status}", "libopenblas0-openmp"], { encoding: "utf8" }).stdout.includes("install ok installed");
  if (probe()) return { ok: true, note: "python3-torch and libopenblas0-openmp were installed" };
  if (process.getuid?.() !== 0)
    return {
      ok: false,
      note: "python3-torch or libopenblas0-openmp is missing and this is not root: run `apt-get install python3-torch libopenblas0-openmp`",
    };
  console.log("installing python3-torch and libopenblas0-openmp (apt-get) for the PyTorch anchor …");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  spawnSync("apt-get", ["update", "-q"], { stdio: "inherit", env });
  const inst = spawnSync("apt-get", ["install", "-y", "-q", "python3-torch", "libopenblas0-openmp"], { stdio: "inherit", env });
  if (inst.status !== 0 || !probe())
    return { ok: false, note: "apt-get could not install python3-torch libopenblas0-openmp (offline?): the PyTorch side is not measured" };
  return { ok: true, note: "this run installed python3-torch and libopenblas0-openmp with apt-get" };
}

/** The sustained fp32 FMA peak of this machine (bench/native/fma-peak.c, built into `out` with the system's C compiler). */
export function fmaPeak(out: string): { wall1: number; wall2: number; cpu1: number; cpu2: number } | undefined {
  const exe = path.join(out, "fma-peak");
  const build = spawnSync("cc", ["-O3", "-march=native", "-pthread", path.join(here, "native", "fma-peak.c"), "-o", exe], {
    encoding: "utf8",
  });
  if (build.status !== 0) return undefined;
  const res = spawnSync(exe, ["2", "200000000"], { encoding: "utf8" });
  return res.status === 0 ? (JSON.parse(res.stdout) as { wall1: number; wall2: number; cpu1: number; cpu2: number }) : undefined;
}
