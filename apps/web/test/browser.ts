// Chromium from npm (@sparticuz/chromium's headless shell, with the NSS libraries it needs), headless, through
// playwright-core: nothing is downloaded and nothing is needed from the system. The flags work on a machine without
// network, and a fresh profile is removed on close. Also a build of the page when dist/ is missing or older than its
// sources.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliDecompressSync } from "node:zlib";
import { chromium, type BrowserContext } from "playwright-core";

export const APP = join(dirname(fileURLToPath(import.meta.url)), "..");
export const DIST = join(APP, "dist");

export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--no-zygote",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The regular files of a tar archive (ustar), written under `dir`. */
function untar(tar: Buffer, dir: string): void {
  for (let at = 0; at + 512 <= tar.length && tar[at] !== 0;) {
    const field = (from: number, length: number) =>
      tar
        .subarray(at + from, at + from + length)
        .toString("latin1")
        .replace(/\0.*$/s, "");
    const size = parseInt(field(124, 12).trim() || "0", 8);
    const name = [field(345, 155), field(0, 100)].filter(Boolean).join("/");
    if (field(156, 1) === "0" || field(156, 1) === "") {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), tar.subarray(at + 512, at + 512 + size), { mode: 0o755 });
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
}

/**
 * The browser: $CHROMIUM_PATH when set, else @sparticuz/chromium's build unpacked once (brotli) into
 * node_modules/.cache, next to the NSS/NSPR/expat libraries it links against (its Amazon Linux set, so a system
 * without them works too). Unpacked into a temporary folder and renamed, so concurrent test runs never see half a file.
 */
export function chromiumExecutable(): { path: string; env: Record<string, string> } {
  if (process.env.CHROMIUM_PATH) return { path: process.env.CHROMIUM_PATH, env: {} };
  const pkg = join(APP, "node_modules", "@sparticuz", "chromium"); // a devDependency (its exports hide package.json)
  const version = (JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")) as { version: string }).version;
  const bin = join(pkg, "bin");
  const dir = join(APP, "node_modules", ".cache", `chromium-${version}`);
  if (!existsSync(join(dir, "chromium"))) {
    mkdirSync(dirname(dir), { recursive: true });
    const temp = mkdtempSync(`${dir}.partial-`);
    writeFileSync(join(temp, "chromium"), brotliDecompressSync(readFileSync(join(bin, "chromium.br"))), { mode: 0o755 });
    untar(brotliDecompressSync(readFileSync(join(bin, "al2023.tar.br"))), temp);
    try {
      renameSync(temp, dir);
    } catch {
      rmSync(temp, { recursive: true, force: true }); // another run got there first
    }
  }
  return {
    path: join(dir, "chromium"),
    env: { LD_LIBRARY_PATH: [join(dir, "lib"), process.env.LD_LIBRARY_PATH].filter(Boolean).join(":") },
  };
}

/** Chromium with a new, empty profile (playwright passes it as --user-data-dir), removed on close. */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const browser = chromiumExecutable();
  const profile = mkdtempSync(join(tmpdir(), "neural-web-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: browser.path,
    env: { ...process.env, ...browser.env } as Record<string, string>,
    headless: true,
    args: CHROMIUM_FLAGS,
    acceptDownloads: true,
    viewport: { width: 1200, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

function newest(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let t = 0;
  for (const entry of readdirSync(path)) {
    if (entry === "node_modules" || entry === "dist") continue;
    t = Math.max(t, newest(join(path, entry)));
  }
  return t;
}

/** Build the page (vite build) unless dist/ is newer than the page's and the libraries' sources. */
export function ensureBuilt(): void {
  const index = join(DIST, "index.html");
  const packages = join(APP, "..", "..", "packages");
  const sources = [
    join(APP, "src"),
    join(APP, "public"),
    join(APP, "index.html"),
    join(APP, "vite.config.ts"),
    ...["dataset", "graph", "lora-trainer", "gguf-writer", "safetensors", "quantize", "web-trainer"].map((p) => join(packages, p, "src")),
  ];
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...sources.map(newest))) return;
  const result = spawnSync(process.execPath, [join(APP, "node_modules", "vite", "bin", "vite.js"), "build", "--logLevel", "warn"], {
    cwd: APP,
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`vite build failed:\n${result.stdout}\n${result.stderr}`);
}
