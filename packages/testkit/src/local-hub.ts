// A local stand-in for huggingface.co: the paths @huggingface/hub asks for (model info, file tree, resolve with
// ranges), gated repositories that answer 401 without a token and 403 with a token that has no access, and
// optionally slow file bodies (so a progress display has time to draw).
import { createHash } from "node:crypto";
import http from "node:http";

export interface LocalHubRepo {
  files: Record<string, Buffer>;
  /** Files answer 401 without `Authorization: Bearer <token>` and 403 with another token. */
  gatedToken?: string;
  /** Bytes per chunk and milliseconds between chunks of a file body (default: all at once). */
  throttle?: { chunkBytes: number; delayMs: number };
}

export interface LocalHub {
  url: string;
  commit: string;
  /** "METHOD path (authorization)" of every request. */
  requests: string[];
  close(): Promise<void>;
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const sha1 = (b: Buffer) => createHash("sha1").update(b).digest("hex");

export async function startLocalHub(
  repos: Record<string, LocalHubRepo>,
  commit = "0123456789abcdef0123456789abcdef01234567",
): Promise<LocalHub> {
  const requests: string[] = [];
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.statusCode = status;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    const auth = req.headers.authorization;
    requests.push(`${req.method} ${url.pathname}${auth ? ` (${auth})` : ""}`);
    for (const [name, repo] of Object.entries(repos)) {
      if (url.pathname === `/api/models/${name}/revision/main`) {
        return json(res, 200, {
          _id: name,
          id: name,
          sha: commit,
          gated: repo.gatedToken ? "manual" : false,
          lastModified: "2026-01-01T00:00:00Z",
        });
      }
      if (url.pathname === `/api/models/${name}/tree/${commit}`) {
        return json(
          res,
          200,
          Object.entries(repo.files).map(([p, b]) => ({
            type: "file",
            path: p,
            size: b.length,
            oid: sha1(b),
            ...(p.endsWith(".safetensors") ? { lfs: { oid: sha256(b), size: b.length, pointerSize: 130 } } : {}),
          })),
        );
      }
      const prefix = `/${name}/resolve/`;
      if (!url.pathname.startsWith(prefix)) continue;
      const file = url.pathname.slice(prefix.length).split("/").slice(1).join("/");
      const body = repo.files[file];
      if (!body) return json(res, 404, { error: "Entry not found" });
      if (repo.gatedToken && auth !== `Bearer ${repo.gatedToken}`) {
        return auth
          ? json(res, 403, { error: `Access to model ${name} is restricted and you are not in the authorized list.` })
          : json(res, 401, {
              error: `Access to model ${name} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
            });
      }
      const range = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? "");
      const start = range ? Number(range[1]) : 0;
      const end = range && range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
      res.statusCode = range ? 206 : 200;
      res.setHeader("content-length", String(end - start + 1));
      res.setHeader("etag", `"${sha1(body)}"`);
      res.setHeader("accept-ranges", "bytes");
      if (range) res.setHeader("content-range", `bytes ${start}-${end}/${body.length}`);
      if (req.method === "HEAD") return res.end();
      const part = body.subarray(start, end + 1);
      if (!repo.throttle || part.length <= 1) return res.end(part);
      const { chunkBytes, delayMs } = repo.throttle;
      let at = 0;
      const next = () => {
        if (res.destroyed) return;
        const chunk = part.subarray(at, at + chunkBytes);
        at += chunk.length;
        if (at >= part.length) res.end(chunk);
        else res.write(chunk, () => setTimeout(next, delayMs));
      };
      return next();
    }
    json(res, 404, { error: "Repository not found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    commit,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
