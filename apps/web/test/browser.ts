// Debian's Chromium, headless, through playwright-core (never a downloaded browser), with the flags that work on a
// machine without network, and a fresh profile that is removed on close. Also a build of the page when dist/ is
// missing or older than its sources.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext } from "playwright-core";

export const APP = join(dirname(fileURLToPath(import.meta.url)), "..");
export const DIST = join(APP, "dist");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Chromium with a new, empty profile (playwright passes it as --user-data-dir), removed on close. */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)`);
  const profile = mkdtempSync(join(tmpdir(), "neural-web-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
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
  const sources = [join(APP, "src"), join(APP, "public"), join(APP, "index.html"), join(APP, "vite.config.ts"), ...["dataset", "graph", "lora-trainer", "gguf-writer", "safetensors", "quantize", "web-trainer"].map((p) => join(packages, p, "src"))];
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...sources.map(newest))) return;
  const result = spawnSync(process.execPath, [join(APP, "node_modules", "vite", "bin", "vite.js"), "build", "--logLevel", "warn"], { cwd: APP, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`vite build failed:\n${result.stdout}\n${result.stderr}`);
}
