// @neural/generator-repo-patterns: training rows mined from a code repository with tree-sitter: documented
// functions and methods (prompt from doc + signature, answer the whole function with its body), type definitions,
// tests, error handling, uses of imported APIs, and documentation sections. Honours .gitignore, skips vendored and
// generated files, and drops any candidate that contains something that looks like a secret.
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import {
  GeneratorOptionsError,
  type CategorySpace,
  type Example,
  type GeneratorDefinition,
  type OptionValues,
  type Rng,
} from "@neural/generators";
import { createParser, type GrammarName } from "@neural/generators/tree-sitter";
import { extractPatterns, type Pattern, type PatternKind } from "./extract.js";
import { markdownSections, type DocSection } from "./markdown.js";
import { findSecret } from "./secrets.js";
import { SOURCE_LANGUAGES, walkRepo, type SourceLanguage, type WalkResult } from "./walk.js";

export { extractPatterns, type Pattern, type PatternKind } from "./extract.js";
export { isIgnored, parseGitignore } from "./gitignore.js";
export { markdownSections, type DocSection } from "./markdown.js";
export { findSecret, isSecretFile } from "./secrets.js";
export { listNotIgnored, looksGenerated, SOURCE_LANGUAGES, walkRepo, type SourceLanguage } from "./walk.js";

export interface RepoPatternsOptions {
  repo: string;
  /** Languages to mine (default: every supported language found). Markdown documentation is always included. */
  languages?: readonly SourceLanguage[];
  /** Files larger than this are skipped (bytes, default 200,000). */
  maxFileSize?: number;
  /** Answers longer than this are not used, never truncated (characters, default 6,000). */
  maxAnswerChars?: number;
  /** Most error-handling and API-usage snippets per file (default 5). */
  perFile?: number;
}

const NAMES: Record<SourceLanguage, string> = {
  go: "Go",
  python: "Python",
  javascript: "JavaScript",
  typescript: "TypeScript",
  java: "Java",
};

export interface RepoScan {
  walk: WalkResult["skipped"];
  files: number;
  patterns: Pattern[];
  docs: DocSection[];
  /** Candidates dropped because they contained something secret-looking, by kind of secret. */
  secretsDropped: Record<string, number>;
  duplicatesDropped: number;
}

/** Reads and parses the repository; everything the categories need. */
export async function scanRepo(options: RepoPatternsOptions): Promise<RepoScan> {
  const root = resolve(options.repo);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) throw new GeneratorOptionsError(`--repo: ${options.repo} is not a directory`);
  const languages = new Set(options.languages?.length ? options.languages : SOURCE_LANGUAGES);
  for (const l of languages)
    if (!SOURCE_LANGUAGES.includes(l))
      throw new GeneratorOptionsError(`unknown language "${l}"; languages: ${SOURCE_LANGUAGES.join(", ")}`);
  const walk = await walkRepo(root, { maxFileSize: options.maxFileSize ?? 200_000 });
  const parsers = new Map<GrammarName, Awaited<ReturnType<typeof createParser>>>();
  const parserFor = async (g: GrammarName) => {
    let p = parsers.get(g);
    if (!p) parsers.set(g, (p = await createParser(g)));
    return p;
  };
  const patterns: Pattern[] = [];
  const docs: DocSection[] = [];
  const limits = { maxCodeChars: options.maxAnswerChars ?? 6000, perFile: options.perFile ?? 5 };
  let files = 0;
  for (const file of walk.files) {
    if (file.language === "markdown") {
      docs.push(...markdownSections(file.text, file.path, limits.maxCodeChars));
      files++;
      continue;
    }
    if (!languages.has(file.language)) continue;
    const grammar: GrammarName = file.language === "typescript" && file.path.endsWith(".tsx") ? "tsx" : file.language;
    const parser = await parserFor(grammar);
    const tree = parser.parse(file.text);
    if (!tree) continue;
    try {
      patterns.push(...extractPatterns(tree, file.text, file.path, file.language, limits));
    } finally {
      tree.delete();
    }
    files++;
  }
  return { walk: walk.skipped, files, patterns, docs, secretsDropped: {}, duplicatesDropped: 0 };
}

const fenced = (code: string, lang: SourceLanguage) => `\`\`\`${lang}\n${code}\n\`\`\``;

function examplesFor(p: Pattern, rng: Rng): Example {
  const L = NAMES[p.language];
  const where = `${p.path}:${p.line}`;
  switch (p.kind) {
    case "function":
      if (!p.doc)
        return {
          instruction: rng.pick([
            `Write the ${L} ${p.detail} \`${p.name}\` from ${p.path}, with this signature.`,
            `Implement \`${p.name}\`, a ${L} ${p.detail} in ${p.path}. Its signature is below.`,
          ]),
          input: `Signature:\n${p.signature}`,
          output: fenced(p.code, p.language),
        };
      return {
        instruction: rng.pick([
          `Implement the ${L} ${p.detail} \`${p.name}\` from its documentation and signature (${p.path}).`,
          `Write the body of this ${L} ${p.detail}, \`${p.name}\` in ${p.path}, so that it does what its documentation says.`,
          `Here are the documentation and the signature of \`${p.name}\`, a ${L} ${p.detail} in ${p.path}. Write the complete ${p.detail.startsWith("method") ? "method" : "function"}.`,
        ]),
        input: `Documentation:\n${p.doc}\n\nSignature:\n${p.signature}`,
        output: fenced(p.code, p.language),
      };
    case "type_definition":
      return {
        instruction: rng.pick([
          `Write the ${L} ${p.detail} \`${p.name}\` defined in ${p.path}.`,
          `Define the ${L} ${p.detail} \`${p.name}\` as it appears in ${where}.`,
        ]),
        input: p.doc ? `Documentation:\n${p.doc}` : "",
        output: fenced(p.code, p.language),
      };
    case "test":
      return {
        instruction: rng.pick([`Write the ${L} ${p.detail} "${p.name}" from ${p.path}.`, `In ${p.path}, write the ${L} test "${p.name}".`]),
        input: p.signature ? `Signature:\n${p.signature}` : "",
        output: fenced(p.code, p.language),
      };
    case "error_handling":
      return {
        instruction: rng.pick([
          `In \`${p.name}\` (${p.path}), the code below can fail. Write the ${L} error handling that comes next.`,
          `Continue this ${L} code from \`${p.name}\` in ${p.path} with the error handling the project uses.`,
        ]),
        input: fenced(p.context, p.language),
        output: fenced(p.code, p.language),
      };
    case "api_usage":
      return {
        instruction: rng.pick([
          `Show how \`${p.name}\` in ${p.path} calls \`${p.callee}\` (imported from "${p.module}").`,
          `Give the ${L} statement in \`${p.name}\` (${p.path}) that uses \`${p.callee}\` from "${p.module}".`,
        ]),
        output: fenced(p.code, p.language),
      };
  }
}

function docExample(d: DocSection, rng: Rng): Example {
  return {
    instruction: rng.pick([
      `What does ${d.path} say under the heading "${d.heading}"?`,
      `Write the "${d.heading}" section of ${d.path}.`,
      `Quote the documentation section "${d.heading}" from ${d.path}.`,
    ]),
    output: d.body,
  };
}

const KINDS: readonly PatternKind[] = ["function", "type_definition", "test", "error_handling", "api_usage"];

export async function repoPatternSpaces(options: RepoPatternsOptions): Promise<{ spaces: CategorySpace[]; scan: RepoScan }> {
  const scan = await scanRepo(options);
  // Drop secret-looking candidates and exact repeats (same kind and same answer) before counting capacity.
  const seen = new Set<string>();
  const keep = <T>(kind: string, answer: string, all: string, item: T, list: T[]) => {
    const secret = findSecret(all);
    if (secret) {
      scan.secretsDropped[secret] = (scan.secretsDropped[secret] ?? 0) + 1;
      return;
    }
    const key = `${kind}\u0000${answer}`;
    if (seen.has(key)) {
      scan.duplicatesDropped++;
      return;
    }
    seen.add(key);
    list.push(item);
  };
  const byKind = new Map<PatternKind, Pattern[]>(KINDS.map((k) => [k, []]));
  for (const p of scan.patterns)
    keep(
      p.kind,
      p.code,
      [p.name, p.doc, p.signature, p.context, p.code, p.callee ?? "", p.module ?? "", p.path].join("\n"),
      p,
      byKind.get(p.kind)!,
    );
  const docs: DocSection[] = [];
  for (const d of scan.docs) keep("documentation", d.body, `${d.heading}\n${d.body}\n${d.path}`, d, docs);
  const spaces: CategorySpace[] = [
    ...KINDS.map((kind) => {
      const list = byKind.get(kind)!;
      return { name: kind, weight: list.length, size: list.length, at: (i: number, rng: Rng) => examplesFor(list[i]!, rng) };
    }),
    { name: "documentation", weight: docs.length, size: docs.length, at: (i: number, rng: Rng) => docExample(docs[i]!, rng) },
  ];
  if (spaces.every((s) => s.size === 0)) {
    throw new GeneratorOptionsError(
      `found nothing to extract in ${options.repo} for ${options.languages?.join(", ") || "any supported language"} (${scan.files} files read)`,
    );
  }
  return { spaces, scan };
}

function toOptions(values: OptionValues): RepoPatternsOptions {
  const repo = values.repo;
  if (typeof repo !== "string" || !repo) throw new GeneratorOptionsError("--repo PATH is required");
  const raw = values.language;
  const languages = (Array.isArray(raw) ? raw : typeof raw === "string" && raw ? raw.split(",") : []).map((l) =>
    l.trim(),
  ) as SourceLanguage[];
  return {
    repo,
    ...(languages.length ? { languages } : {}),
    ...(typeof values.max_file_size === "number" ? { maxFileSize: values.max_file_size } : {}),
    ...(typeof values.max_answer_chars === "number" ? { maxAnswerChars: values.max_answer_chars } : {}),
  };
}

export const repoPatternsGenerator: GeneratorDefinition = {
  name: "repo-patterns",
  summary:
    "Rows mined from a repository with tree-sitter (go, python, javascript, typescript, java): documented functions and methods (prompt from doc + signature, answer the whole function), type definitions, tests, error handling, API usage, documentation sections. Honours .gitignore, skips vendored and generated files and never emits secret-looking strings. By default the categories keep the proportions found in the repository.",
  options: [
    { name: "repo", type: "string", description: "the repository to mine (required)" },
    {
      name: "language",
      type: "string[]",
      description: `languages to mine, comma-separated (${SOURCE_LANGUAGES.join("|")}); default all found`,
      aliases: ["languages"],
    },
    { name: "max_file_size", type: "number", description: "skip files larger than this many bytes", default: 200_000 },
    { name: "max_answer_chars", type: "number", description: "skip (never truncate) answers longer than this", default: 6000 },
  ],
  defaultOutput: "data/repo_patterns.jsonl",
  defaultCount: 500,
  prepare: async (values) => (await repoPatternSpaces(toOptions(values))).spaces,
};
