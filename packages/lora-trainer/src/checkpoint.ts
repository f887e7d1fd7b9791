// Checkpoints: the trainable tensors, the optimizer moments and the loop's state, written into a temporary folder
// and renamed into place, so a crash (even SIGKILL) never leaves a torn checkpoint. We keep the last K and the best.
import { openSafetensors, saveSafetensors, type TensorToWrite } from "@neural/safetensors";
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { LoopState } from "./loop.js";
import type { LazyOptimizerTensors, OptimizerTensors } from "./optimizer.js";

export class CheckpointError extends Error {
  override name = "CheckpointError";
}

/** The tensors of a checkpoint: the trainable tensors and AdamW's moments. */
export type CheckpointTensors = OptimizerTensors;

const DIR_PREFIX = "step-";
const stepDir = (step: number) => `${DIR_PREFIX}${String(step).padStart(8, "0")}`;

export function checkpointsDir(outputDir: string): string {
  return path.join(outputDir, "checkpoints");
}

/**
 * Writes checkpoint `state.step` atomically and returns its directory. `files` adds files to the folder before it is
 * renamed into place (the trainer's model or adapter, so that a checkpoint can be exported like a finished run).
 */
export async function saveCheckpoint(
  outputDir: string,
  state: LoopState,
  tensors: CheckpointTensors | LazyOptimizerTensors,
  options: { files?: (dir: string) => Promise<void> } = {},
): Promise<string> {
  const root = checkpointsDir(outputDir);
  await mkdir(root, { recursive: true });
  const final = path.join(root, stepDir(state.step));
  const temp = `${final}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(temp);
  const list: TensorToWrite[] = [];
  for (const [name, p] of tensors.params) {
    list.push({ name: `param/${name}`, dtype: "F32", shape: p.shape, data: p.data });
    list.push({ name: `m/${name}`, dtype: "F32", shape: p.shape, data: tensors.m.get(name)! });
    list.push({ name: `v/${name}`, dtype: "F32", shape: p.shape, data: tensors.v.get(name)! });
  }
  await saveSafetensors(path.join(temp, "trainable.safetensors"), list);
  await writeDurable(path.join(temp, "state.json"), JSON.stringify(state, null, 2) + "\n");
  await options.files?.(temp);
  await fsyncDir(temp);
  await removeCheckpoint(final);
  await rename(temp, final);
  await fsyncDir(root);
  return final;
}

/**
 * Deletes a checkpoint directory without ever leaving a half-deleted `step-*` behind: it is renamed out of the
 * listing first (one atomic step), then removed; a process killed in between leaves a `*.tmp-*` that the next
 * pruneCheckpoints clears.
 */
async function removeCheckpoint(dir: string): Promise<void> {
  const doomed = `${dir}.tmp-removing-${process.pid}-${Date.now()}`;
  try {
    await rename(dir, doomed);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  await rm(doomed, { recursive: true, force: true });
}

export async function loadCheckpoint(dir: string): Promise<{ state: LoopState; tensors: CheckpointTensors }> {
  let state: LoopState;
  try {
    state = JSON.parse(await readFile(path.join(dir, "state.json"), "utf8")) as LoopState;
  } catch (error) {
    throw new CheckpointError(`${dir}: not a checkpoint (state.json: ${(error as Error).message})`);
  }
  const file = await openSafetensors(path.join(dir, "trainable.safetensors"));
  try {
    const tensors: CheckpointTensors = { params: new Map(), m: new Map(), v: new Map() };
    for (const name of file.names) {
      const slash = name.indexOf("/");
      const kind = name.slice(0, slash);
      const key = name.slice(slash + 1);
      const data = await file.readFloat32(name);
      if (kind === "param") tensors.params.set(key, { shape: file.info(name).shape, data });
      else if (kind === "m") tensors.m.set(key, data);
      else if (kind === "v") tensors.v.set(key, data);
    }
    return { state, tensors };
  } finally {
    await file.close();
  }
}

/** Complete checkpoints, oldest first (interrupted writes, left as *.tmp-*, are ignored). */
export async function listCheckpoints(outputDir: string): Promise<{ step: number; dir: string }[]> {
  const root = checkpointsDir(outputDir);
  const names = await readdir(root).catch(() => [] as string[]);
  return names
    .filter((n) => /^step-\d{8}$/.test(n))
    .map((n) => ({ step: Number(n.slice(DIR_PREFIX.length)), dir: path.join(root, n) }))
    .sort((a, b) => a.step - b.step);
}

/** Removes leftovers of interrupted writes, then all but the last `keep` checkpoints and the best one. */
export async function pruneCheckpoints(outputDir: string, keep: number, bestStep: number | null): Promise<void> {
  const root = checkpointsDir(outputDir);
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (name.includes(".tmp-")) await rm(path.join(root, name), { recursive: true, force: true });
  }
  const all = await listCheckpoints(outputDir);
  for (const c of all.slice(0, Math.max(0, all.length - keep))) {
    if (c.step !== bestStep) await removeCheckpoint(c.dir);
  }
}

/** Removes the checkpoints made after `step` (a diverged run's, whose last update was undone). */
export async function removeCheckpointsAfter(outputDir: string, step: number): Promise<void> {
  for (const c of await listCheckpoints(outputDir)) if (c.step > step) await removeCheckpoint(c.dir);
}

/** `--resume auto`: the latest checkpoint in the output directory; otherwise the given directory. */
export async function findResume(outputDir: string, resume: string): Promise<string | undefined> {
  if (resume !== "auto") return resume;
  return (await listCheckpoints(outputDir)).at(-1)?.dir;
}

/** Writes a small file so that it survives a crash: write, fsync, rename. */
export async function writeDurable(file: string, text: string): Promise<void> {
  const temp = `${file}.tmp-${process.pid}`;
  const handle = await open(temp, "w");
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file).catch(async (error: unknown) => {
    await rm(temp, { force: true });
    throw error;
  });
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } catch {
    // some file systems cannot fsync a directory; the rename is still atomic
  } finally {
    await handle.close();
  }
}
