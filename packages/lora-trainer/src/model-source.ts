// Where a base model comes from: a local Hugging Face directory, the Hugging Face cache (~/.cache/huggingface/hub,
// the same layout Python's huggingface_hub uses, so models downloaded there are reused), or, when online, a download
// into that cache with @huggingface/hub. Only what training needs is fetched: config, tokenizer, safetensors.
import { downloadFile, listFiles, modelInfo } from "@huggingface/hub";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

export class ModelSourceError extends Error {
  override name = "ModelSourceError";
}

export interface ResolveModelOptions {
  /** The HF cache directory. Default: $HF_HUB_CACHE, $HF_HOME/hub, or ~/.cache/huggingface/hub. */
  cacheDir?: string;
  /** Never touch the network (default: $HF_HUB_OFFLINE). */
  offline?: boolean;
  /** The hub's address (tests point it at a local server). Default https://huggingface.co. */
  hubUrl?: string;
  accessToken?: string;
  revision?: string;
  onProgress?: (event: { file: string; bytes: number; totalBytes: number }) => void;
}

export interface ResolvedModel {
  dir: string;
  source: "local" | "cache" | "download";
  repo?: string;
  revision?: string;
}

const WANTED = /^(config\.json|generation_config\.json|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|tokenizer\.model|model\.safetensors\.index\.json|[^/]*\.safetensors)$/;

export function defaultCacheDir(): string {
  if (process.env.HF_HUB_CACHE) return process.env.HF_HUB_CACHE;
  if (process.env.HF_HOME) return path.join(process.env.HF_HOME, "hub");
  return path.join(homedir(), ".cache", "huggingface", "hub");
}

const exists = (p: string) => stat(p).then(() => true, () => false);

/** Whether `spec` (owner/name, optionally @revision) has the shape of a Hugging Face model id. */
export function isHubModelId(spec: string): boolean {
  return /^[\w.-]+\/[\w.-]+$/.test(spec.split("@")[0]!);
}

/** Finds (or downloads) a base model and returns the directory that holds its config.json. */
export async function resolveModel(spec: string, options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  if (await exists(spec)) {
    if (!(await exists(path.join(spec, "config.json")))) throw new ModelSourceError(`${spec}: no config.json (is this a Hugging Face model directory?)`);
    return { dir: spec, source: "local" };
  }
  const [repo, atRevision] = spec.split("@") as [string, string | undefined];
  if (!isHubModelId(spec)) throw new ModelSourceError(`${spec}: no such directory, and not a Hugging Face model id like "Qwen/Qwen2.5-0.5B-Instruct"`);
  const revision = atRevision ?? options.revision ?? "main";
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const repoDir = path.join(cacheDir, `models--${repo.replace(/\//g, "--")}`);
  const cached = await cachedSnapshot(repoDir, revision);
  if (cached) return { dir: cached, source: "cache", repo, revision };

  const offline = options.offline ?? /^(1|true|yes|on)$/i.test(process.env.HF_HUB_OFFLINE ?? "");
  if (offline) {
    throw new ModelSourceError(
      `${repo} is not in the Hugging Face cache (${cacheDir}) and downloads are off (HF_HUB_OFFLINE). ` +
        `Download it once online, or pass a local directory to --base_model.`,
    );
  }
  return { dir: await download(repo, revision, repoDir, options), source: "download", repo, revision };
}

async function cachedSnapshot(repoDir: string, revision: string): Promise<string | undefined> {
  let commit = revision;
  if (!/^[0-9a-f]{40}$/.test(revision)) {
    try {
      commit = (await readFile(path.join(repoDir, "refs", revision), "utf8")).trim();
    } catch {
      return undefined;
    }
  }
  const dir = path.join(repoDir, "snapshots", commit);
  return (await exists(path.join(dir, "config.json"))) ? dir : undefined;
}

async function download(repo: string, revision: string, repoDir: string, options: ResolveModelOptions): Promise<string> {
  const common = { ...(options.hubUrl ? { hubUrl: options.hubUrl } : {}), ...(options.accessToken ? { accessToken: options.accessToken } : {}) };
  let commit: string;
  try {
    const info = await modelInfo({ name: repo, revision, additionalFields: ["sha"], ...common });
    commit = String((info as { sha?: unknown }).sha ?? "");
  } catch (error) {
    throw new ModelSourceError(`cannot reach the Hugging Face hub for ${repo}@${revision}: ${(error as Error).message}`);
  }
  if (!/^[0-9a-f]{40}$/.test(commit)) throw new ModelSourceError(`the hub gave no commit for ${repo}@${revision}`);
  const files: { path: string; size: number; etag: string }[] = [];
  for await (const entry of listFiles({ repo, revision: commit, recursive: true, ...common })) {
    if (entry.type !== "file" || !WANTED.test(entry.path)) continue;
    const etag = entry.lfs?.oid ?? entry.oid;
    if (!etag) throw new ModelSourceError(`the hub listed ${entry.path} without an id`);
    files.push({ path: entry.path, size: entry.lfs?.size ?? entry.size, etag });
  }
  if (!files.some((f) => f.path === "config.json")) throw new ModelSourceError(`${repo}@${revision} has no config.json`);
  if (!files.some((f) => f.path.endsWith(".safetensors"))) {
    throw new ModelSourceError(`${repo}@${revision} has no .safetensors weights (only PyTorch .bin files?); we read safetensors only`);
  }
  const snapshot = path.join(repoDir, "snapshots", commit);
  const totalBytes = files.reduce((n, f) => n + f.size, 0);
  let bytes = 0;
  for (const file of files) {
    const blob = path.join(repoDir, "blobs", file.etag);
    if (!(await exists(blob))) {
      await mkdir(path.dirname(blob), { recursive: true });
      const response = await downloadFile({ repo, path: file.path, revision: commit, ...common });
      if (!response) throw new ModelSourceError(`${repo}: ${file.path} vanished from the hub`);
      const partial = `${blob}.incomplete`;
      const counter = Readable.fromWeb(response.stream() as never);
      counter.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        options.onProgress?.({ file: file.path, bytes, totalBytes });
      });
      try {
        await pipeline(counter, createWriteStream(partial));
      } catch (error) {
        await rm(partial, { force: true });
        throw new ModelSourceError(`download of ${repo}/${file.path} failed: ${(error as Error).message}`);
      }
      const got = (await stat(partial)).size;
      if (got !== file.size) {
        await rm(partial, { force: true });
        throw new ModelSourceError(`download of ${repo}/${file.path} is incomplete: ${got} of ${file.size} bytes`);
      }
      await rename(partial, blob);
    } else bytes += file.size;
    const pointer = path.join(snapshot, file.path);
    await mkdir(path.dirname(pointer), { recursive: true });
    const target = path.relative(path.dirname(pointer), blob);
    const current = await readlink(pointer).catch(() => undefined);
    if (current !== target) {
      await rm(pointer, { force: true });
      await symlink(target, pointer);
    }
  }
  await mkdir(path.join(repoDir, "refs"), { recursive: true });
  if (!/^[0-9a-f]{40}$/.test(revision)) await writeFile(path.join(repoDir, "refs", revision), commit);
  return snapshot;
}
