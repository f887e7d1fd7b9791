import { createHash } from "node:crypto";
import { mkdtemp, readFile, readlink, writeFile, mkdir } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalHub, type LocalHub } from "@neural/testkit";
import { hubToken, hubTokenPath, ModelSourceError, resolveModel, type DownloadProgress } from "./model-source.js";

// A local stand-in for huggingface.co serving the same paths @huggingface/hub asks for.
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const files: Record<string, Buffer> = {
  "config.json": Buffer.from(JSON.stringify({ architectures: ["LlamaForCausalLM"], hidden_size: 8 })),
  "tokenizer.json": Buffer.from("{}"),
  "model.safetensors": Buffer.alloc(70_000, 7),
  "pytorch_model.bin": Buffer.alloc(10, 1),
  "README.md": Buffer.from("# model"),
};
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const sha1 = (b: Buffer) => createHash("sha1").update(b).digest("hex");
const requests: string[] = [];
let server: http.Server;
let hubUrl: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    requests.push(`${req.method} ${url.pathname}`);
    if (url.pathname === "/api/models/org/tiny/revision/main") {
      res.setHeader("content-type", "application/json");
      return res.end(JSON.stringify({ _id: "x", id: "org/tiny", sha: COMMIT, lastModified: "2026-01-01T00:00:00Z" }));
    }
    if (url.pathname === `/api/models/org/tiny/tree/${COMMIT}`) {
      res.setHeader("content-type", "application/json");
      return res.end(
        JSON.stringify(
          Object.entries(files).map(([p, b]) => ({
            type: "file",
            path: p,
            size: b.length,
            oid: sha1(b),
            ...(p.endsWith(".safetensors") ? { lfs: { oid: sha256(b), size: b.length, pointerSize: 130 } } : {}),
          })),
        ),
      );
    }
    const resolve = /^\/org\/tiny\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const body = resolve && files[resolve[2]!];
    if (body) {
      const range = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? "");
      const start = range ? Number(range[1]) : 0;
      const end = range && range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
      res.statusCode = range ? 206 : 200;
      res.setHeader("content-length", String(end - start + 1));
      res.setHeader("etag", `"${sha1(body)}"`);
      res.setHeader("accept-ranges", "bytes");
      if (range) res.setHeader("content-range", `bytes ${start}-${end}/${body.length}`);
      return req.method === "HEAD" ? res.end() : res.end(body.subarray(start, end + 1));
    }
    res.statusCode = 404;
    res.end(JSON.stringify({ error: "not found" }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  hubUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}, 60_000);
afterAll(() => server.close());

// Generous timeouts: each test downloads and hashes a model through a local server, slow on a loaded machine.
describe("resolveModel", { timeout: 120_000 }, () => {
  it("downloads config, tokenizer and safetensors into the Hugging Face cache layout, then reuses the cache offline", async () => {
    const cacheDir = await mkdtemp(path.join(tmpdir(), "hf-cache-"));
    const first = await resolveModel("org/tiny", { cacheDir, hubUrl });
    expect(first).toMatchObject({ source: "download", repo: "org/tiny", revision: "main" });
    expect(first.dir).toBe(path.join(cacheDir, "models--org--tiny", "snapshots", COMMIT));
    expect(await readFile(path.join(first.dir, "model.safetensors"))).toEqual(files["model.safetensors"]);
    expect(await readlink(path.join(first.dir, "model.safetensors"))).toBe(`../../blobs/${sha256(files["model.safetensors"]!)}`);
    expect(await readFile(path.join(cacheDir, "models--org--tiny", "refs", "main"), "utf8")).toBe(COMMIT);
    await expect(readFile(path.join(first.dir, "pytorch_model.bin"))).rejects.toThrow(); // not needed, not fetched

    requests.length = 0;
    const again = await resolveModel("org/tiny", { cacheDir, hubUrl, offline: true });
    expect(again).toMatchObject({ source: "cache", dir: first.dir });
    expect(requests).toEqual([]);
  });

  it("uses a local directory as it is, and explains what is wrong otherwise", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "model-"));
    await expect(resolveModel(dir)).rejects.toThrow(/no config.json/);
    await writeFile(path.join(dir, "config.json"), "{}");
    expect(await resolveModel(dir)).toEqual({ dir, source: "local" });
    await expect(resolveModel("./no/such/dir")).rejects.toThrow(/not a Hugging Face model id/);
    const cacheDir = await mkdtemp(path.join(tmpdir(), "hf-cache-"));
    await expect(resolveModel("org/tiny", { cacheDir, offline: true })).rejects.toThrow(
      /not in the Hugging Face cache .* downloads are off/,
    );
    await expect(resolveModel("org/missing", { cacheDir, hubUrl })).rejects.toThrow(/cannot reach the Hugging Face hub for org\/missing/);
  });

  it("finds models that Python's huggingface_hub put in the cache", async () => {
    const cacheDir = await mkdtemp(path.join(tmpdir(), "hf-cache-"));
    const snapshot = path.join(cacheDir, "models--Qwen--Qwen2.5-0.5B-Instruct", "snapshots", COMMIT);
    await mkdir(snapshot, { recursive: true });
    await writeFile(path.join(snapshot, "config.json"), "{}");
    await mkdir(path.join(cacheDir, "models--Qwen--Qwen2.5-0.5B-Instruct", "refs"));
    await writeFile(path.join(cacheDir, "models--Qwen--Qwen2.5-0.5B-Instruct", "refs", "main"), COMMIT);
    expect(await resolveModel("Qwen/Qwen2.5-0.5B-Instruct", { cacheDir, offline: true })).toMatchObject({ source: "cache", dir: snapshot });
  });
});

describe("gated models and tokens", { timeout: 120_000 }, () => {
  const TOKEN = "hf_test_token_with_access";
  let hub: LocalHub;
  const saved = { ...process.env };
  beforeAll(async () => {
    hub = await startLocalHub({
      "org/gated": { gatedToken: TOKEN, files: { "config.json": Buffer.from("{}"), "model.safetensors": Buffer.alloc(3000, 1) } },
    });
  });
  afterAll(async () => {
    process.env = saved;
    await hub.close();
  });
  const noTokens = async () => {
    delete process.env.HF_TOKEN;
    delete process.env.HUGGING_FACE_HUB_TOKEN;
    delete process.env.HF_TOKEN_PATH;
    process.env.HF_HOME = await mkdtemp(path.join(tmpdir(), "hf-home-"));
    return mkdtemp(path.join(tmpdir(), "hf-cache-"));
  };

  it("without a token: names the model, says it needs access and how to give a token", async () => {
    const cacheDir = await noTokens();
    const error = await resolveModel("org/gated", { cacheDir, hubUrl: hub.url }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelSourceError);
    expect((error as ModelSourceError).reason).toBe("auth");
    expect((error as Error).message).toMatch(/^org\/gated needs a Hugging Face token \(HTTP 401: gated or private\)/);
    expect((error as Error).message).toContain(`${hub.url}/org/gated`);
    expect((error as Error).message).toContain("HF_TOKEN");
    expect((error as Error).message).toContain(path.join(process.env.HF_HOME!, "token"));
  });

  it("with a token that has no access: says so (403)", async () => {
    const cacheDir = await noTokens();
    await expect(resolveModel("org/gated", { cacheDir, hubUrl: hub.url, accessToken: "hf_other" })).rejects.toThrow(
      /refused the Hugging Face token \(HTTP 403\).*accept its conditions/,
    );
  });

  it.each([
    ["the accessToken option", (cacheDir: string) => ({ cacheDir, accessToken: TOKEN })],
    ["HF_TOKEN", (cacheDir: string) => ((process.env.HF_TOKEN = TOKEN), { cacheDir })],
    ["HUGGING_FACE_HUB_TOKEN", (cacheDir: string) => ((process.env.HUGGING_FACE_HUB_TOKEN = TOKEN), { cacheDir })],
  ])("downloads with a token from %s", async (_from, options) => {
    const cacheDir = await noTokens();
    const events: DownloadProgress[] = [];
    const got = await resolveModel("org/gated", { ...options(cacheDir), hubUrl: hub.url, onProgress: (e) => events.push(e) });
    expect(got.source).toBe("download");
    expect(await readFile(path.join(got.dir, "model.safetensors"))).toEqual(Buffer.alloc(3000, 1));
    expect(hub.requests.at(-1)).toContain(`(Bearer ${TOKEN})`);
    // per file: start, data..., done; the overall count adds up
    for (const file of ["config.json", "model.safetensors"]) {
      const mine = events.filter((e) => e.file === file);
      expect(mine[0]!.phase).toBe("start");
      expect(mine.at(-1)).toMatchObject({ phase: "done", fileBytes: mine[0]!.fileSize });
    }
    expect(events.at(-1)).toMatchObject({ bytes: 3002, totalBytes: 3002 });
  });

  it("downloads with the token file that `hf auth login` writes in the Hugging Face home", async () => {
    const cacheDir = await noTokens();
    expect(hubToken()).toBeUndefined();
    await writeFile(path.join(process.env.HF_HOME!, "token"), `${TOKEN}\n`);
    expect(hubTokenPath()).toBe(path.join(process.env.HF_HOME!, "token"));
    expect(hubToken()).toBe(TOKEN);
    expect((await resolveModel("org/gated", { cacheDir, hubUrl: hub.url })).source).toBe("download");
  });
});
