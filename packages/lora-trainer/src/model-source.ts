// Where a base model comes from: a local Hugging Face directory, the Hugging Face cache (~/.cache/huggingface/hub,
// the same layout Python's huggingface_hub uses, so models downloaded there are reused), or, when online, a download
// into that cache with @huggingface/hub. Only what training needs is fetched: config, tokenizer, safetensors. Gated
// and private models take a token as huggingface_hub does: HF_TOKEN, HUGGING_FACE_HUB_TOKEN, or the token file that
// `hf auth login` writes in the Hugging Face home.
import { downloadFile, HubApiError, listFiles, modelInfo } from "@huggingface/hub";
import { createWriteStream, readFileSync } from "node:fs";
import { mkdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

export class ModelSourceError extends Error {
  override name = "ModelSourceError";
  /** "auth": the hub wants a token (none given) or a token with access (the one given has none). */
  constructor(
    message: string,
    readonly reason?: "auth",
  ) {
    super(message);
  }
}

/** Progress of a download, per file: reported when a file starts, as its bytes arrive, and when it is complete. */
export interface DownloadProgress {
  repo: string;
  file: string;
  phase: "start" | "data" | "done";
  /** Bytes of this file so far, and its size. */
  fileBytes: number;
  fileSize: number;
  /** Bytes of every file to fetch so far (files already in the cache count as done), and their total. */
  bytes: number;
  totalBytes: number;
}

export interface ResolveModelOptions {
  /** The HF cache directory. Default: $HF_HUB_CACHE, $HF_HOME/hub, or ~/.cache/huggingface/hub. */
  cacheDir?: string;
  /** Never touch the network (default: $HF_HUB_OFFLINE). */
  offline?: boolean;
  /** The hub's address (tests point it at a local server). Default $HF_ENDPOINT, else https://huggingface.co. */
  hubUrl?: string;
  /** A Hugging Face token for gated and private models. Default: `hubToken()` (environment, then the token file). */
  accessToken?: string;
  revision?: string;
  onProgress?: (event: DownloadProgress) => void;
}

export interface ResolvedModel {
  dir: string;
  source: "local" | "cache" | "download";
  repo?: string;
  revision?: string;
}

const WANTED =
  /^(config\.json|generation_config\.json|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|tokenizer\.model|model\.safetensors\.index\.json|[^/]*\.safetensors)$/;

export function defaultCacheDir(): string {
  if (process.env.HF_HUB_CACHE) return process.env.HF_HUB_CACHE;
  if (process.env.HF_HOME) return path.join(process.env.HF_HOME, "hub");
  return path.join(homedir(), ".cache", "huggingface", "hub");
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** Where `hf auth login` keeps the token: $HF_TOKEN_PATH, else "token" in $HF_HOME (default ~/.cache/huggingface). */
export function hubTokenPath(): string {
  if (process.env.HF_TOKEN_PATH) return process.env.HF_TOKEN_PATH;
  return path.join(process.env.HF_HOME ?? path.join(homedir(), ".cache", "huggingface"), "token");
}

/** The Hugging Face token to use, as huggingface_hub finds it: `explicit`, $HF_TOKEN, $HUGGING_FACE_HUB_TOKEN, the token file. */
export function hubToken(explicit?: string): string | undefined {
  const candidates = [explicit, process.env.HF_TOKEN, process.env.HUGGING_FACE_HUB_TOKEN];
  for (const c of candidates) if (c && c.trim()) return c.trim();
  try {
    return readFileSync(hubTokenPath(), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A hub refusal (401/403) as an error that says which model needs access and how to give a token. */
function accessError(repo: string, hubUrl: string, hadToken: boolean, status: number): ModelSourceError {
  const page = `${hubUrl.replace(/\/+$/, "")}/${repo}`;
  if (hadToken) {
    return new ModelSourceError(
      `${repo}: the hub refused the Hugging Face token (HTTP ${status}): it has no access to this model. ` +
        `If it is gated, accept its conditions at ${page} with the account the token belongs to; otherwise check the token`,
      "auth",
    );
  }
  return new ModelSourceError(
    `${repo} needs a Hugging Face token (HTTP ${status}: gated or private). Accept its conditions at ${page}, create a ` +
      `read token, then set HF_TOKEN=hf_... or run \`hf auth login\` (it writes ${hubTokenPath()})`,
    "auth",
  );
}

const refusal = (error: unknown): number | undefined =>
  error instanceof HubApiError && (error.statusCode === 401 || error.statusCode === 403) ? error.statusCode : undefined;

/** Whether `spec` (owner/name, optionally @revision) has the shape of a Hugging Face model id. */
export function isHubModelId(spec: string): boolean {
  return /^[\w.-]+\/[\w.-]+$/.test(spec.split("@")[0]!);
}

/** Finds (or downloads) a base model and returns the directory that holds its config.json. */
export async function resolveModel(spec: string, options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  if (await exists(spec)) {
    if (!(await exists(path.join(spec, "config.json"))))
      throw new ModelSourceError(`${spec}: no config.json (is this a Hugging Face model directory?)`);
    return { dir: spec, source: "local" };
  }
  const [repo, atRevision] = spec.split("@") as [string, string | undefined];
  if (!isHubModelId(spec))
    throw new ModelSourceError(`${spec}: no such directory, and not a Hugging Face model id like "Qwen/Qwen2.5-0.5B-Instruct"`);
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
  const accessToken = options.accessToken ?? hubToken();
  const hubUrl = options.hubUrl ?? (process.env.HF_ENDPOINT || "https://huggingface.co");
  const common = { hubUrl, ...(accessToken ? { accessToken } : {}) };
  const refused = (error: unknown) => {
    const status = refusal(error);
    return status !== undefined ? accessError(repo, hubUrl, accessToken !== undefined, status) : undefined;
  };
  let commit: string;
  try {
    const info = await modelInfo({ name: repo, revision, additionalFields: ["sha"], ...common });
    commit = String((info as { sha?: unknown }).sha ?? "");
  } catch (error) {
    throw refused(error) ?? new ModelSourceError(`cannot reach the Hugging Face hub for ${repo}@${revision}: ${(error as Error).message}`);
  }
  if (!/^[0-9a-f]{40}$/.test(commit)) throw new ModelSourceError(`the hub gave no commit for ${repo}@${revision}`);
  const files: { path: string; size: number; etag: string }[] = [];
  try {
    for await (const entry of listFiles({ repo, revision: commit, recursive: true, ...common })) {
      if (entry.type !== "file" || !WANTED.test(entry.path)) continue;
      const etag = entry.lfs?.oid ?? entry.oid;
      if (!etag) throw new ModelSourceError(`the hub listed ${entry.path} without an id`);
      files.push({ path: entry.path, size: entry.lfs?.size ?? entry.size, etag });
    }
  } catch (error) {
    throw (
      refused(error) ??
      (error instanceof ModelSourceError
        ? error
        : new ModelSourceError(`cannot list the files of ${repo}@${revision}: ${(error as Error).message}`))
    );
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
      let fileBytes = 0;
      const report = (phase: DownloadProgress["phase"]) =>
        options.onProgress?.({ repo, file: file.path, phase, fileBytes, fileSize: file.size, bytes, totalBytes });
      const partial = `${blob}.incomplete`;
      try {
        const response = await downloadFile({ repo, path: file.path, revision: commit, ...common });
        if (!response) throw new ModelSourceError(`${repo}: ${file.path} vanished from the hub`);
        report("start");
        const counter = Readable.fromWeb(response.stream() as never);
        counter.on("data", (chunk: Buffer) => {
          fileBytes += chunk.length;
          bytes += chunk.length;
          report("data");
        });
        await pipeline(counter, createWriteStream(partial));
      } catch (error) {
        await rm(partial, { force: true });
        if (error instanceof ModelSourceError) throw error;
        throw refused(error) ?? new ModelSourceError(`download of ${repo}/${file.path} failed: ${(error as Error).message}`);
      }
      const got = (await stat(partial)).size;
      if (got !== file.size) {
        await rm(partial, { force: true });
        throw new ModelSourceError(`download of ${repo}/${file.path} is incomplete: ${got} of ${file.size} bytes`);
      }
      await rename(partial, blob);
      report("done");
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
