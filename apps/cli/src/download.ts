// Base models from the Hugging Face hub, as the commands show them: one live bar per file on a terminal (size, speed,
// ETA), a few plain lines when the output is a pipe or a log; a refusal says which model needs access and how to
// give a token, --hf_token included.
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import {
  hubToken,
  isHubModelId,
  ModelSourceError,
  resolveModel,
  type DownloadProgress,
  type ResolvedModel,
  type ResolveModelOptions,
} from "@neural/lora-trainer";
import type { OptionSpec } from "./args.js";
import type { Io } from "./command.js";

export const HF_TOKEN_OPTION: OptionSpec = {
  name: "hf_token",
  type: "string",
  description:
    "Hugging Face token for gated or private models (default: $HF_TOKEN, $HUGGING_FACE_HUB_TOKEN, or the token `hf auth login` saved)",
};

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

const eta = (seconds: number): string => {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
      : `${s}s`;
};

/**
 * Draws download progress. On a terminal each file has one status line, redrawn at most `redrawMs` apart and left
 * as a summary when the file is complete; otherwise a file prints a line when it is complete, and a large one also
 * every `logEveryMs` while it downloads.
 */
export function downloadReporter(
  io: Io,
  options: { now?: () => number; redrawMs?: number; logEveryMs?: number } = {},
): (event: DownloadProgress) => void {
  const now = options.now ?? Date.now;
  const redrawMs = options.redrawMs ?? 100;
  const logEveryMs = options.logEveryMs ?? 30_000;
  let started = 0;
  let lastDraw = 0;
  return (e) => {
    const t = now();
    if (e.phase === "start") {
      started = t;
      lastDraw = t;
    }
    const seconds = Math.max((t - started) / 1000, 1e-3);
    const speed = e.fileBytes / seconds;
    if (e.phase === "done") {
      io.status("");
      io.err(`downloaded ${e.file}: ${formatBytes(e.fileSize)} in ${seconds.toFixed(1)} s (${formatBytes(speed)}/s)`);
      return;
    }
    if (e.phase !== "data") return;
    const line = () => {
      const fraction = e.fileSize > 0 ? e.fileBytes / e.fileSize : 1;
      const filled = Math.round(Math.min(1, fraction) * 20);
      return `${e.file} [${"#".repeat(filled)}${".".repeat(20 - filled)}] ${formatBytes(e.fileBytes)} / ${formatBytes(e.fileSize)} ${formatBytes(speed)}/s ETA ${eta((e.fileSize - e.fileBytes) / speed)}`;
    };
    if (io.isTTY) {
      if (t - lastDraw >= redrawMs) {
        lastDraw = t;
        io.status(line());
      }
    } else if (t - lastDraw >= logEveryMs) {
      lastDraw = t;
      io.err(line());
    }
  };
}

/** The token a command uses: its --hf_token, else the environment's or the saved one. */
export function hubAccess(flag: unknown): { accessToken?: string } {
  const token = hubToken(typeof flag === "string" ? flag : undefined);
  return token ? { accessToken: token } : {};
}

/** Says a hub refusal the CLI's way (adds --hf_token to the library's advice). */
export function modelSourceMessage(error: ModelSourceError): string {
  return error.reason === "auth" ? `${error.message}, or pass --hf_token` : error.message;
}

/**
 * Brings a hub model into the Hugging Face cache before a command uses it, with a progress display; nothing happens
 * for a local directory or a model already cached. An adapter directory stands for its base model.
 */
export async function fetchModel(
  spec: string,
  io: Io,
  options: { token?: string; modelSource?: ResolveModelOptions } = {},
): Promise<ResolvedModel | undefined> {
  const adapterConfig = path.join(spec, "adapter_config.json");
  if (
    await stat(adapterConfig).then(
      (s) => s.isFile(),
      () => false,
    )
  ) {
    const base = (JSON.parse(await readFile(adapterConfig, "utf8")) as { base_model_name_or_path?: unknown }).base_model_name_or_path;
    if (typeof base !== "string") return undefined;
    spec = base;
  }
  if (
    !isHubModelId(spec) ||
    (await stat(spec).then(
      () => true,
      () => false,
    ))
  )
    return undefined;
  return resolveModel(spec, { ...options.modelSource, ...hubAccess(options.token), onProgress: downloadReporter(io) });
}
