// A cache of built graphs on disk, so that a second run of the same model and settings opens its sessions without
// building a graph or writing a weight. An entry is a directory named by a hash of everything that shapes the graphs
// (the graph code itself, the model's config and weight files, the settings the graphs read, the precision): one
// shared weights file, and per graph its model file and the list of its inputs.
// Concurrent runs: a run that finds no entry writes its first graph and the weights into a private directory and
// renames it into place (a directory appears whole or not at all; the loser of a race keeps its private copy for the
// run). Later graphs are added to an entry as model files written under a temporary name and renamed, and only when
// every weight they need is already in the entry's weights file, which is never written again; a graph needing
// another weight is stored privately instead.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serialize, type Graph } from "@neural/graph";
import { SharedWeights } from "@neural/graph/node";
import type { GraphInputSpec, GraphStore, StoredGraph } from "./sessions.js";

const FORMAT = "neural-graph-cache/1";
const WEIGHTS = "weights.bin";
const PLACEMENT = "placement.json";

/** The default cache directory: $NEURAL_GRAPH_CACHE, else $XDG_CACHE_HOME/neural/graphs or ~/.cache/neural/graphs. */
export function defaultGraphCacheDir(): string | undefined {
  const env = process.env.NEURAL_GRAPH_CACHE;
  if (env === "off" || env === "0") return undefined;
  return env || path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), ".cache"), "neural", "graphs");
}

let codeHash: string | undefined;

/**
 * A hash of the code that builds and writes graphs: every source or bundle file of this package and of
 * @neural/graph (as installed: src/ in a checkout, dist/ in a published package). Any edit changes it.
 */
export function graphCodeFingerprint(): string {
  if (codeHash) return codeHash;
  const own = path.dirname(fileURLToPath(import.meta.url));
  const graphPackage = path.dirname(createRequire(import.meta.url).resolve("@neural/graph/package.json"));
  return (codeHash = treeFingerprint([own, path.join(graphPackage, "src"), path.join(graphPackage, "dist")]));
}

/** A hash of the code files (not tests, not type declarations) under these directories. */
export function treeFingerprint(dirs: readonly string[]): string {
  const hash = createHash("sha256").update(FORMAT);
  for (const dir of dirs) hashTree(hash, dir);
  return hash.digest("hex");
}

function hashTree(hash: ReturnType<typeof createHash>, dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules") hashTree(hash, full);
    } else if (/\.(m|c)?(j|t)s$/.test(entry.name) && !/\.(spec|test)\.|\.d\.(m|c)?ts$/.test(entry.name)) {
      hash.update(`${entry.name}\0`).update(readFileSync(full)).update("\0");
    }
  }
}

/** Size and modification time of a model directory's weight and config files: a changed file changes it. */
export function modelFilesFingerprint(dir: string): string {
  const files = readdirSync(dir)
    .filter((f) => /\.(safetensors|json|bin|gguf)$/.test(f))
    .sort();
  return files
    .map((f) => {
      const s = statSync(path.join(dir, f));
      return `${f}:${s.size}:${s.mtimeMs}`;
    })
    .join("|");
}

/** The entry key of a run's graphs: the code, and what the caller says shapes them (model, weights, settings). */
export function graphCacheKey(shapes: unknown): string {
  return createHash("sha256").update(graphCodeFingerprint()).update(JSON.stringify(shapes)).digest("hex").slice(0, 32);
}

interface Placement {
  size: number;
  placed: [string, { offset: number; length: number }][];
}

/** A GraphStore over the cache entry `key` in `root`; `scratch` holds what cannot go into the entry. */
export function cachedStore(root: string, key: string, scratch: string): GraphStore & { readonly hits: number; release(): Promise<void> } {
  const entry = path.join(root, key);
  let hits = 0;
  let privateDir: string | undefined;
  let privateWeights: SharedWeights | undefined;
  let placement: { size: number; placed: Map<string, { offset: number; length: number }> } | undefined;
  const privately = async (graph: Graph, name: string): Promise<StoredGraph> => {
    privateWeights ??= new SharedWeights((privateDir = path.join(scratch, `graphs-${process.pid}-${randomBytes(4).toString("hex")}`)));
    return { model: await privateWeights.save(graph, `${name}.onnx`) };
  };
  const readPlacement = async () => {
    if (placement) return placement;
    const raw = JSON.parse(await readFile(path.join(entry, PLACEMENT), "utf8")) as Placement;
    return (placement = { size: raw.size, placed: new Map(raw.placed) });
  };
  return {
    reopens: true,
    get hits() {
      return hits;
    },
    async load(name) {
      const model = path.join(entry, `${name}.onnx`);
      const inputs = await readFile(path.join(entry, `${name}.inputs.json`), "utf8").catch(() => undefined);
      if (inputs === undefined || !existsSync(model)) return undefined;
      hits++;
      return { stored: { model }, inputs: JSON.parse(inputs) as GraphInputSpec[] };
    },
    async save(graph, name) {
      await mkdir(root, { recursive: true });
      const inputs = JSON.stringify(graph.inputs.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] })));
      if (!existsSync(path.join(entry, PLACEMENT))) {
        // a new entry: this graph and its weights in a private directory, then renamed into place whole
        const staging = path.join(root, `${key}.staging-${process.pid}-${randomBytes(4).toString("hex")}`);
        const weights = new SharedWeights(staging, WEIGHTS);
        await weights.save(graph, `${name}.onnx`);
        await writeFile(path.join(staging, `${name}.inputs.json`), inputs);
        await writeFile(
          path.join(staging, PLACEMENT),
          JSON.stringify({ size: weights.bytes, placed: [...weights.placement] } satisfies Placement),
        );
        try {
          await rename(staging, entry);
          return { model: path.join(entry, `${name}.onnx`) };
        } catch {
          // another run published the entry first: keep this graph private for this run
          privateDir = staging;
          privateWeights = weights;
          return { model: path.join(staging, `${name}.onnx`) };
        }
      }
      // an existing entry: this graph's model file, if every weight it needs is already in the entry's file
      const { size, placed } = await readPlacement();
      const serialized = serialize(graph, { externalData: { location: WEIGHTS, baseOffset: size, placed, align: 4096 } });
      if (serialized.external.length > 0) return privately(graph, name);
      const temp = `.${name}.${process.pid}-${randomBytes(4).toString("hex")}`;
      await writeFile(path.join(entry, `${temp}.onnx`), serialized.model);
      await rename(path.join(entry, `${temp}.onnx`), path.join(entry, `${name}.onnx`));
      await writeFile(path.join(entry, `${temp}.inputs.json`), inputs);
      await rename(path.join(entry, `${temp}.inputs.json`), path.join(entry, `${name}.inputs.json`));
      return { model: path.join(entry, `${name}.onnx`) };
    },
    async release() {
      if (privateDir) await rm(privateDir, { recursive: true, force: true });
    },
  };
}

/** Bytes a cache directory holds (for messages). */
export async function cacheEntryBytes(root: string, key: string): Promise<number> {
  return stat(path.join(root, key, WEIGHTS)).then(
    (s) => s.size,
    () => 0,
  );
}
