// Walks a repository: honours .gitignore files (root and nested), skips .git, vendored and generated code,
// secret-bearing files and files over the size limit, and reports what it skipped and why.
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { isIgnored, parseGitignore, type IgnoreFile } from "./gitignore.js";
import { isSecretFile } from "./secrets.js";

export type SourceLanguage = "go" | "python" | "javascript" | "typescript" | "java";
export const SOURCE_LANGUAGES: readonly SourceLanguage[] = ["go", "python", "javascript", "typescript", "java"];

const EXTENSIONS: Record<string, SourceLanguage> = {
  ".go": "go",
  ".py": "python",
  ".js": "javascript",
  ".mjs": "javascript",
  ".cjs": "javascript",
  ".jsx": "javascript",
  ".ts": "typescript",
  ".mts": "typescript",
  ".cts": "typescript",
  ".tsx": "typescript",
  ".java": "java",
};

export function languageOf(path: string): SourceLanguage | "markdown" | undefined {
  const lower = path.toLowerCase();
  if (lower.endsWith(".md") || lower.endsWith(".markdown")) return "markdown";
  if (lower.endsWith(".d.ts")) return undefined;
  const dot = lower.lastIndexOf(".");
  return dot >= 0 ? EXTENSIONS[lower.slice(dot)] : undefined;
}

const VENDOR_DIRS = new Set([
  "node_modules",
  "vendor",
  "third_party",
  "third-party",
  "external",
  "bower_components",
  "dist",
  "build",
  "out",
  "target",
  "coverage",
  "__pycache__",
  ".venv",
  "venv",
  "site-packages",
  ".tox",
  ".next",
  ".nuxt",
  ".gradle",
  ".idea",
  ".vscode",
  "Pods",
  "generated",
  "__generated__",
  "gen",
]);

const GENERATED_NAME =
  /(\.pb\.go|_pb2\.py|_pb2_grpc\.py|\.pb\.ts|_pb\.js|\.min\.js|\.bundle\.js|\.generated\.\w+|_generated\.\w+|\.gen\.\w+|_gen\.go|_string\.go|zz_generated[^/]*|\.g\.dart|-lock\.json|\.lock)$/i;

/** First lines that say "do not edit": Go's convention, @generated markers and friends. */
export function looksGenerated(head: string): boolean {
  return (
    /^\/\/ Code generated .* DO NOT EDIT\.$/m.test(head) ||
    /@generated\b/.test(head) ||
    /\b(?:auto-?generated|automatically generated)\b[^\n]{0,60}\b(?:do not|don't) (?:edit|modify)\b/i.test(head)
  );
}

export interface WalkOptions {
  /** Files above this many bytes are skipped. */
  maxFileSize: number;
  /** Skip vendored directories and generated files (default true). */
  skipVendored?: boolean;
}

export interface RepoFile {
  path: string;
  language: SourceLanguage | "markdown";
  text: string;
}

export interface WalkResult {
  files: RepoFile[];
  skipped: Record<"ignored" | "vendored" | "generated" | "secret-file" | "too-large" | "binary", number>;
}

/** All candidate files under root, sorted by path (deterministic). */
export async function walkRepo(root: string, options: WalkOptions): Promise<WalkResult> {
  const skipVendored = options.skipVendored ?? true;
  const files: RepoFile[] = [];
  const skipped: WalkResult["skipped"] = { ignored: 0, vendored: 0, generated: 0, "secret-file": 0, "too-large": 0, binary: 0 };
  const visit = async (dir: string, ignores: IgnoreFile[]): Promise<void> => {
    const abs = join(root, dir);
    const entries = (await fs.readdir(abs, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let here = ignores;
    const gi = entries.find((e) => e.name === ".gitignore" && e.isFile());
    if (gi) here = [...ignores, parseGitignore(await fs.readFile(join(abs, ".gitignore"), "utf8"), dir)];
    for (const entry of entries) {
      const path = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.name === ".git") continue;
      if (entry.isSymbolicLink()) continue;
      if (entry.isDirectory()) {
        if (isIgnored(path, true, here)) {
          skipped.ignored++;
          continue;
        }
        if (skipVendored && VENDOR_DIRS.has(entry.name)) {
          skipped.vendored++;
          continue;
        }
        await visit(path, here);
        continue;
      }
      if (!entry.isFile()) continue;
      if (isIgnored(path, false, here)) {
        skipped.ignored++;
        continue;
      }
      if (isSecretFile(path)) {
        skipped["secret-file"]++;
        continue;
      }
      const language = languageOf(path);
      if (!language) continue;
      if (skipVendored && GENERATED_NAME.test(entry.name)) {
        skipped.generated++;
        continue;
      }
      const stat = await fs.stat(join(root, path));
      if (stat.size > options.maxFileSize) {
        skipped["too-large"]++;
        continue;
      }
      const buffer = await fs.readFile(join(root, path));
      if (buffer.includes(0)) {
        skipped.binary++;
        continue;
      }
      const text = buffer.toString("utf8");
      if (skipVendored && looksGenerated(text.slice(0, 1000))) {
        skipped.generated++;
        continue;
      }
      files.push({ path, language, text });
    }
  };
  await visit("", []);
  return { files, skipped };
}

/** Every non-ignored file path, with no other filter: what `git ls-files --others --exclude-standard` lists. */
export async function listNotIgnored(root: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (dir: string, ignores: IgnoreFile[]): Promise<void> => {
    const entries = (await fs.readdir(join(root, dir), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    let here = ignores;
    if (entries.some((e) => e.name === ".gitignore" && e.isFile()))
      here = [...ignores, parseGitignore(await fs.readFile(join(root, dir, ".gitignore"), "utf8"), dir)];
    for (const e of entries) {
      const path = dir ? `${dir}/${e.name}` : e.name;
      if (e.name === ".git") continue;
      if (e.isDirectory()) {
        if (!isIgnored(path, true, here)) await visit(path, here);
      } else if (e.isFile() && !isIgnored(path, false, here)) out.push(path);
    }
  };
  await visit("", []);
  return out.sort();
}
