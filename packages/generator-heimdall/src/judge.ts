// NornicDB's parsers and acceptance rules, one per path, and the held-out evaluation built on them.
import { checkCypher } from "@neural/cypher";
import { checkParams, type Registry } from "./actions.js";

// ---------------------------------------------------------------- chat/loop envelopes

export type Release = "2025-12" | "later";

export type EnvelopeResult =
  /** A registered action: the server runs it. */
  | { kind: "action"; action: string; params: Record<string, unknown>; span: string }
  /** Parsed, but the name is not registered: "Sorry, I don't know how to perform the action …". */
  | { kind: "unknown"; action: string; span: string }
  /** No envelope: the output is the reply. `why` says what failed when there was a `{`. */
  | { kind: "text"; why?: string };

/** Go encoding/json into struct {Action string; Params map[string]any}: keys case-insensitive, extras ignored. */
function decodeEnvelope(span: string): { action: string; params: Record<string, unknown> | null } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(span);
  } catch (error) {
    return { error: `invalid JSON (${(error as Error).message})` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { error: "not a JSON object" };
  let action = "";
  let params: Record<string, unknown> | null = null;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const k = key.toLowerCase();
    if (k === "action") {
      if (v === null) continue;
      if (typeof v !== "string") return { error: `"action" is ${Array.isArray(v) ? "an array" : typeof v}, not a string` };
      action = v;
    } else if (k === "params") {
      if (v === null) params = null;
      else if (typeof v !== "object" || Array.isArray(v))
        return { error: `"params" is ${Array.isArray(v) ? "an array" : typeof v}, not an object` };
      else params = v as Record<string, unknown>;
    }
  }
  return { action, params };
}

const isRegistered = (registry: Registry, name: string) => registry.actions.some((a) => a.name === name);

/** S Handler.tryParseAction: trim, first `{` to the last `}`, decode, non-empty action, registered. */
export function parseEnvelope2025(output: string, registry: Registry): EnvelopeResult {
  const text = output.trim();
  const start = text.indexOf("{");
  if (start < 0) return { kind: "text" };
  const end = text.lastIndexOf("}");
  if (end <= start) return { kind: "text", why: "no closing }" };
  const span = text.slice(start, end + 1);
  const decoded = decodeEnvelope(span);
  if ("error" in decoded) return { kind: "text", why: `first { to last }: ${decoded.error}` };
  if (decoded.action === "") return { kind: "text", why: "no action" };
  if (!isRegistered(registry, decoded.action)) return { kind: "unknown", action: decoded.action, span };
  return { kind: "action", action: decoded.action, params: decoded.params ?? {}, span };
}

/** extractFirstJSONObject: from the first `{`, the first balanced object (naive brace count, strings included). */
export function firstBalancedObject(text: string): string | undefined {
  const start = text.indexOf("{");
  if (start < 0) return undefined;
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return text.slice(start, i + 1);
  }
  return undefined;
}

/** H parseActionEnvelope + tryParseAction: the first balanced object; text after it is ignored; null params = {}. */
export function parseEnvelopeLater(output: string, registry: Registry): EnvelopeResult {
  const span = firstBalancedObject(output);
  if (span === undefined) return output.includes("{") ? { kind: "text", why: "unbalanced braces" } : { kind: "text" };
  const decoded = decodeEnvelope(span);
  if ("error" in decoded) return { kind: "text", why: `first object: ${decoded.error}` };
  const action = decoded.action.trim();
  if (action === "") return { kind: "text", why: "no action" };
  if (!isRegistered(registry, action)) return { kind: "unknown", action, span };
  return { kind: "action", action, params: decoded.params ?? {}, span };
}

export const parseEnvelope = (release: Release, output: string, registry: Registry): EnvelopeResult =>
  release === "2025-12" ? parseEnvelope2025(output, registry) : parseEnvelopeLater(output, registry);

/** The later handler's sanitizeAssistantResponse: cut at a chat marker, trailing CR/LF trimmed, `\n` appended. */
export function sanitizeAssistantResponse(text: string): string {
  let out = text;
  for (const marker of ["<|im_start|>", "<|im_end|>", "<|start_of_turn|>"]) {
    const at = out.indexOf(marker);
    if (at >= 0) out = out.slice(0, at);
  }
  return out.replace(/[\r\n]+$/, "") + "\n";
}

// ---------------------------------------------------------------- synthesis

export type SynthesisResult = { accepted: true; text: string } | { accepted: false; fallback: string; why: string };

/** Synthesize's acceptance: the trimmed answer, or the action message when it is empty, JSON-like or too short. */
export function judgeSynthesis(output: string, message: string): SynthesisResult {
  const text = output.trim();
  if (text === "") return { accepted: false, fallback: message, why: "empty answer" };
  if (text.startsWith("{") || text.startsWith("[")) return { accepted: false, fallback: message, why: `starts with ${text[0]}` };
  const bytes = Buffer.byteLength(text, "utf8");
  const messageBytes = Buffer.byteLength(message, "utf8");
  if (bytes < 50 && messageBytes > 0 && messageBytes > 2 * bytes)
    return { accepted: false, fallback: message, why: `${bytes} bytes, under 50 and under half the message` };
  return { accepted: true, text };
}

// ---------------------------------------------------------------- autocomplete

const STOP_LINE = /^(IMPORTANT|Rules?:|Available|Complete)/i;
const CYPHER_START = /^(MATCH|CREATE|MERGE|DELETE|SET|RETURN|WITH|UNWIND|CALL|LOAD|START|UNION|OPTIONAL)/;

/** handleAutocomplete's cleanup of the model's answer. */
export function cleanAutocomplete(output: string): string {
  let s = output.trim();
  if (s.startsWith("```cypher")) s = s.slice("```cypher".length);
  if (s.startsWith("```")) s = s.slice(3);
  if (s.endsWith("```")) s = s.slice(0, -3);
  s = s.trim();
  const parts: string[] = [];
  let collecting = false;
  for (const raw of s.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (STOP_LINE.test(line)) break;
    if (CYPHER_START.test(line)) {
      if (collecting) break;
      collecting = true;
      parts.push(line);
    } else if (collecting) parts.push(line);
  }
  let joined = parts.join(" ");
  joined = joined.replace(/\s+(IMPORTANT|Rules?:|Available|Complete).*$/is, "");
  joined = joined.replace(/\s+(The user|They are|I need to|I don't know|So they|Probably not|correct syntax|asking for help).*$/is, "");
  joined = joined.trim();
  const gap = joined.search(/\s{2,}|\n{2,}/);
  return gap >= 0 ? joined.slice(0, gap) : joined;
}

export type AutocompleteResult = { accepted: true; suggestion: string } | { accepted: false; suggestion: string; why: string };

/** Acceptance after cleanup: non-empty, longer than and different from the query, no IMPORTANT/RULES. */
export function judgeAutocomplete(output: string, query: string): AutocompleteResult {
  const suggestion = cleanAutocomplete(output);
  if (suggestion === "") return { accepted: false, suggestion, why: "nothing left after cleanup" };
  if (suggestion === query) return { accepted: false, suggestion, why: "same as the query" };
  if (suggestion.length <= query.length) return { accepted: false, suggestion, why: "not longer than the query" };
  const upper = suggestion.toUpperCase();
  if (upper.includes("IMPORTANT") || upper.includes("RULES")) return { accepted: false, suggestion, why: "contains IMPORTANT or RULES" };
  return { accepted: true, suggestion };
}

// ---------------------------------------------------------------- edge QC

export interface QcDecision {
  approved: number[];
  rejected: number[];
  reasoning?: string;
}

const isIntArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === "number" && Number.isInteger(x));

/** heimdall_qc's parse: first `{` to last `}` into the response struct; undefined = the fuzzy fallback runs. */
export function parseQc(output: string): { decision: QcDecision } | { why: string } {
  const text = output.trim();
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start < 0 || end <= start) return { why: "no JSON object" };
  let value: unknown;
  try {
    value = JSON.parse(text.slice(start, end + 1));
  } catch (error) {
    return { why: `invalid JSON (${(error as Error).message})` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { why: "not a JSON object" };
  const v = value as Record<string, unknown>;
  for (const key of ["approved", "rejected"])
    if (v[key] !== undefined && v[key] !== null && !isIntArray(v[key])) return { why: `"${key}" is not an array of integers` };
  if (v.reasoning !== undefined && v.reasoning !== null && typeof v.reasoning !== "string") return { why: '"reasoning" is not a string' };
  if (v.approved === undefined || v.approved === null) return { why: 'no "approved" array' };
  return {
    decision: {
      approved: v.approved as number[],
      rejected: (v.rejected as number[] | undefined) ?? [],
      ...(typeof v.reasoning === "string" ? { reasoning: v.reasoning } : {}),
    },
  };
}

// ---------------------------------------------------------------- held-out cases

export type HeimdallPath = "chat" | "loop" | "synthesis" | "autocomplete" | "qc";
export const PATHS: readonly HeimdallPath[] = ["chat", "loop", "synthesis", "autocomplete", "qc"];

export type Expectation =
  | { action: string; params: Record<string, unknown> }
  | { answer: "prose" }
  | { message: string }
  | { query: string }
  | { approved: number[]; rejected: number[] };

/** A held-out row as the evaluator needs it: the exact prompt sent, the reference answer, what is expected. */
export interface HeldOutCase {
  path: HeimdallPath;
  category: string;
  naming: string;
  /** The exact string NornicDB sends (ChatML for chat, raw text for the other paths). */
  prompt: string;
  reference: string;
  expect: Expectation;
}

export class HeldOutRowError extends Error {
  override name = "HeldOutRowError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** A generator row (chat messages or raw text with prompt_end) as a case; throws HeldOutRowError naming the field. */
export function caseFromRow(row: unknown): HeldOutCase {
  if (typeof row !== "object" || row === null) throw new HeldOutRowError("", "expected a JSON object");
  const r = row as Record<string, unknown>;
  const path = r.path as HeimdallPath;
  if (!PATHS.includes(path)) throw new HeldOutRowError("path", `must be one of ${PATHS.join(", ")} (a row of neural generate heimdall)`);
  if (typeof r.expect !== "object" || r.expect === null) throw new HeldOutRowError("expect", "must be an object");
  const category = typeof r.category === "string" ? r.category : path;
  const naming = typeof r.naming === "string" ? r.naming : "dotted";
  if (path === "chat") {
    const messages = r.messages as { role: string; content: string }[] | undefined;
    if (!Array.isArray(messages) || messages.length < 2 || messages.at(-1)?.role !== "assistant")
      throw new HeldOutRowError("messages", "must end with the assistant's answer");
    for (const [i, m] of messages.entries())
      if (typeof m?.content !== "string" || typeof m.role !== "string")
        throw new HeldOutRowError(`messages[${i}]`, "needs role and content strings");
    return {
      path,
      category,
      naming,
      prompt: buildChatPromptForCase(messages.slice(0, -1)),
      reference: messages.at(-1)!.content,
      expect: r.expect as Expectation,
    };
  }
  if (typeof r.text !== "string") throw new HeldOutRowError("text", "must be a string");
  const end = r.prompt_end;
  if (typeof end !== "number" || !Number.isInteger(end) || end < 1 || end > r.text.length)
    throw new HeldOutRowError("prompt_end", `must be an integer in 1..${r.text.length}`);
  return { path, category, naming, prompt: r.text.slice(0, end), reference: r.text.slice(end), expect: r.expect as Expectation };
}

function buildChatPromptForCase(messages: readonly { role: string; content: string }[]): string {
  let prompt = "";
  for (const m of messages)
    if (m.role === "system" || m.role === "user" || m.role === "assistant") prompt += `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`;
  return prompt + "<|im_start|>assistant\n";
}

export interface Verdict {
  path: HeimdallPath;
  category: string;
  /** The expected action (chat/loop envelope rows), else the category. */
  label: string;
  /** Accepted by the release the row's naming belongs to (dotted: 2025-12, underscore: later; custom: both). */
  pass: boolean;
  /** Chat and loop rows: the verdict under each release's envelope rule. */
  releases?: Partial<Record<Release, boolean>>;
  /** Envelope rows: the model called the expected action. */
  sameAction?: boolean;
  why?: string;
  answer: string;
}

const oneLine = (s: string) => !s.trim().includes("\n");

function judgeEnvelopeAnswer(
  release: Release,
  c: HeldOutCase,
  answer: string,
  registry: Registry,
): { pass: boolean; why?: string; action?: string } {
  const parsed = parseEnvelope(release, answer, registry);
  const wantsAction = "action" in c.expect;
  if (!wantsAction) {
    if (parsed.kind === "action")
      return { pass: false, why: `expected a prose answer, got action ${parsed.action}`, action: parsed.action };
    if (parsed.kind === "unknown") return { pass: false, why: `unregistered action "${parsed.action}" (the Sorry reply)` };
    if (answer.trim() === "") return { pass: false, why: "empty answer" };
    if (c.path === "loop" && !oneLine(answer)) return { pass: false, why: "more than one line" };
    return { pass: true };
  }
  if (parsed.kind === "unknown") return { pass: false, why: `unregistered action "${parsed.action}" (the Sorry reply)` };
  if (parsed.kind === "text") return { pass: false, why: parsed.why ? `no envelope: ${parsed.why}` : "no envelope (prose)" };
  const spec = registry.actions.find((a) => a.name === parsed.action)!;
  const problem = checkParams(spec, parsed.params);
  if (problem) return { pass: false, why: `${parsed.action} params: ${problem}`, action: parsed.action };
  if (c.path === "loop" && !oneLine(answer)) return { pass: false, why: "more than one line", action: parsed.action };
  return { pass: true, action: parsed.action };
}

/** Judges one answer (as NornicDB received it: untrimmed text up to EOG/stop) by the rules of the case's path. */
export function judgeAnswer(c: HeldOutCase, answer: string, registry: Registry): Verdict {
  const base = { path: c.path, category: c.category, answer };
  switch (c.path) {
    case "chat":
    case "loop": {
      const label = "action" in c.expect ? c.expect.action : c.category;
      // The loop exists only in the later handler.
      const releases: Release[] = c.path === "loop" ? ["later"] : ["2025-12", "later"];
      const results = Object.fromEntries(releases.map((r) => [r, judgeEnvelopeAnswer(r, c, answer, registry)])) as Partial<
        Record<Release, ReturnType<typeof judgeEnvelopeAnswer>>
      >;
      const governing: Release[] =
        c.path === "loop" ? ["later"] : c.naming === "dotted" ? ["2025-12"] : c.naming === "underscore" ? ["later"] : ["2025-12", "later"];
      const pass = governing.every((r) => results[r]!.pass);
      const why =
        governing.map((r) => results[r]!.why).find(Boolean) ?? (pass ? undefined : releases.map((r) => results[r]!.why).find(Boolean));
      const verdict: Verdict = { ...base, label, pass, releases: Object.fromEntries(releases.map((r) => [r, results[r]!.pass])) };
      if ("action" in c.expect) verdict.sameAction = governing.every((r) => results[r]!.action === (c.expect as { action: string }).action);
      if (why) verdict.why = why;
      return verdict;
    }
    case "synthesis": {
      const r = judgeSynthesis(answer, (c.expect as { message: string }).message ?? "");
      return { ...base, label: c.category, pass: r.accepted, ...(r.accepted ? {} : { why: `replaced by the action message: ${r.why}` }) };
    }
    case "autocomplete": {
      const query = (c.expect as { query: string }).query;
      const r = judgeAutocomplete(answer, query);
      if (!r.accepted) return { ...base, label: c.category, pass: false, why: r.why };
      if (r.suggestion !== answer.trim())
        return { ...base, label: c.category, pass: false, why: `cleanup cut the answer to "${r.suggestion}"` };
      if (!checkCypher(r.suggestion).ok)
        return { ...base, label: c.category, pass: false, why: "the completed line does not parse as Cypher" };
      return { ...base, label: c.category, pass: true };
    }
    case "qc": {
      const r = parseQc(answer);
      if ("why" in r) return { ...base, label: c.category, pass: false, why: `fuzzy fallback: ${r.why}` };
      return { ...base, label: c.category, pass: true };
    }
  }
}

export interface RateRow {
  key: string;
  total: number;
  passed: number;
  /** Per release, where judged. */
  releases: Partial<Record<Release, { total: number; passed: number }>>;
}

export interface HeimdallReport {
  total: number;
  passed: number;
  byPath: RateRow[];
  byAction: RateRow[];
  /** Chat and loop rows that expect an action: how many got that action (acceptance does not ask for it). */
  envelopes: { total: number; sameAction: number };
  wrong: Verdict[];
}

function tally(rows: Map<string, RateRow>, key: string, v: Verdict): void {
  const row = rows.get(key) ?? { key, total: 0, passed: 0, releases: {} };
  row.total++;
  if (v.pass) row.passed++;
  for (const [release, ok] of Object.entries(v.releases ?? {}) as [Release, boolean][]) {
    const r = (row.releases[release] ??= { total: 0, passed: 0 });
    r.total++;
    if (ok) r.passed++;
  }
  rows.set(key, row);
}

export function summarize(verdicts: readonly Verdict[]): HeimdallReport {
  const byPath = new Map<string, RateRow>();
  const byAction = new Map<string, RateRow>();
  for (const v of verdicts) {
    tally(byPath, v.path, v);
    if (v.path === "chat" || v.path === "loop") tally(byAction, `${v.path} ${v.label}`, v);
  }
  const order = (rows: Map<string, RateRow>) => [...rows.values()].sort((a, b) => a.key.localeCompare(b.key));
  return {
    total: verdicts.length,
    passed: verdicts.filter((v) => v.pass).length,
    byPath: PATHS.filter((p) => byPath.has(p)).map((p) => byPath.get(p)!),
    byAction: order(byAction),
    envelopes: {
      total: verdicts.filter((v) => v.sameAction !== undefined).length,
      sameAction: verdicts.filter((v) => v.sameAction === true).length,
    },
    wrong: verdicts.filter((v) => !v.pass),
  };
}

const pct = (passed: number, total: number) => (total ? `${((100 * passed) / total).toFixed(1)}%` : "-");

/** The per-path and per-action acceptance table, then the wrong answers (at most `maxWrong`). */
export function formatReport(report: HeimdallReport, maxWrong = 20): string {
  const lines: string[] = [];
  const table = (title: string, rows: RateRow[]) => {
    const width = Math.max(title.length, ...rows.map((r) => r.key.length));
    lines.push(`${title.padEnd(width)}  ${"accepted".padStart(14)}  ${"2025-12 rule".padStart(14)}  ${"later rule".padStart(14)}`);
    for (const r of rows) {
      const rel = (k: Release) => (r.releases[k] ? `${pct(r.releases[k]!.passed, r.releases[k]!.total)} (${r.releases[k]!.total})` : "-");
      lines.push(
        `${r.key.padEnd(width)}  ${`${pct(r.passed, r.total)} ${r.passed}/${r.total}`.padStart(14)}  ${rel("2025-12").padStart(14)}  ${rel("later").padStart(14)}`,
      );
    }
  };
  table("path", report.byPath);
  if (report.byAction.length) {
    lines.push("");
    table("path action", report.byAction);
  }
  lines.push("", `all paths: ${pct(report.passed, report.total)} (${report.passed}/${report.total}) accepted as NornicDB would`);
  if (report.envelopes.total)
    lines.push(
      `envelope rows answered with the expected action: ${pct(report.envelopes.sameAction, report.envelopes.total)} (${report.envelopes.sameAction}/${report.envelopes.total})`,
    );
  if (report.wrong.length) {
    lines.push("", `wrong answers (${report.wrong.length}${report.wrong.length > maxWrong ? `, first ${maxWrong}` : ""}):`);
    for (const v of report.wrong.slice(0, maxWrong)) {
      const answer = JSON.stringify(v.answer.length > 160 ? v.answer.slice(0, 160) + "…" : v.answer);
      lines.push(`  [${v.path} ${v.label}] ${v.why ?? "rejected"}: ${answer}`);
    }
  }
  return lines.join("\n");
}
