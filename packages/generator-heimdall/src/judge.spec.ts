import { collectRows } from "@neural/generators";
import { describe, expect, it } from "vitest";
import { builtinRegistry, caseFromRow, formatReport, heimdallGenerator, judgeAnswer, summarize, type HeldOutCase } from "./index.js";
import { cleanAutocomplete, parseEnvelope2025, parseEnvelopeLater } from "./judge.js";

const dotted = builtinRegistry("dotted");
const query = (cypher: string) => `{"action": "heimdall.watcher.query", "params": {"cypher": "${cypher}"}}`;
const chatCase = (expectation: HeldOutCase["expect"]): HeldOutCase => ({
  path: "chat",
  category: "chat_action",
  naming: "dotted",
  prompt: "",
  reference: "",
  expect: expectation,
});

describe("the evaluator", () => {
  it("accepts every reference answer of the generator", async () => {
    const { rows } = await collectRows(heimdallGenerator, { count: 180, seed: "judge" });
    const verdicts = rows.map((row) => {
      const c = caseFromRow(row);
      return judgeAnswer(c, c.reference, dotted);
    });
    const report = summarize(verdicts);
    expect(report.wrong.map((v) => `${v.path} ${v.why}`)).toEqual([]);
    expect(report.passed).toBe(180);
    expect(formatReport(report)).toMatch(/^path +accepted +2025-12 rule +later rule\nchat /);
  });

  it("flags a trailing } after the envelope under the 2025-12 rule (the later rule ignores it)", () => {
    const c = chatCase({ action: "heimdall.watcher.query", params: { cypher: "MATCH (n) RETURN n" } });
    const answer = `${query("MATCH (n) RETURN n")}\nAlso see {this}`;
    expect(parseEnvelope2025(answer, dotted).kind).toBe("text");
    expect(parseEnvelopeLater(answer, dotted)).toMatchObject({ kind: "action", action: "heimdall.watcher.query" });
    const v = judgeAnswer(c, answer, dotted);
    expect(v).toMatchObject({ pass: false, releases: { "2025-12": false, later: true } });
    expect(v.why).toMatch(/first \{ to last \}: invalid JSON/);
  });

  it("flags an unknown action (the Sorry reply), `none` included", () => {
    const c = chatCase({ action: "heimdall.watcher.status", params: {} });
    for (const name of ["heimdall.watcher.stats", "none", "heimdall_watcher_status"]) {
      const v = judgeAnswer(c, `{"action": "${name}", "params": {}}`, dotted);
      expect(v.pass).toBe(false);
      expect(v.why).toBe(`unregistered action "${name}" (the Sorry reply)`);
    }
  });

  it("flags JSON in a synthesis answer (replaced by the action message)", () => {
    const c: HeldOutCase = {
      path: "synthesis",
      category: "synthesis",
      naming: "dotted",
      prompt: "",
      reference: "",
      expect: { message: "Database statistics retrieved" },
    };
    expect(judgeAnswer(c, ' {"nodes": 12, "edges": 40}', dotted)).toMatchObject({
      pass: false,
      why: "replaced by the action message: starts with {",
    });
    expect(judgeAnswer(c, "[12, 40]", dotted).pass).toBe(false);
    expect(judgeAnswer(c, "12 nodes.", dotted)).toMatchObject({
      pass: false,
      why: "replaced by the action message: 9 bytes, under 50 and under half the message",
    });
    expect(judgeAnswer(c, "The database holds 12 nodes and 40 edges, with no embeddings yet.", dotted).pass).toBe(true);
  });

  it("flags a two-line autocomplete (cleanup keeps only the first line)", () => {
    const c: HeldOutCase = {
      path: "autocomplete",
      category: "autocomplete",
      naming: "dotted",
      prompt: "",
      reference: "",
      expect: { query: "MATCH (n:Person" },
    };
    const v = judgeAnswer(c, "MATCH (n:Person)\nRETURN n LIMIT 25", dotted);
    expect(v).toMatchObject({ pass: false, why: 'cleanup cut the answer to "MATCH (n:Person)"' });
    expect(judgeAnswer(c, "MATCH (n:Person) RETURN n LIMIT 25", dotted).pass).toBe(true);
    // The later release's own test case.
    expect(cleanAutocomplete("```cypher\nMATCH (n:Person)\nRETURN n\nLIMIT 25\n```\nThe user is asking for help")).toBe("MATCH (n:Person)");
  });

  it("flags params missing a required field", () => {
    const c = chatCase({ action: "heimdall.watcher.query", params: { cypher: "MATCH (n) RETURN n" } });
    const v = judgeAnswer(c, '{"action": "heimdall.watcher.query", "params": {"query": "MATCH (n) RETURN n"}}', dotted);
    expect(v).toMatchObject({ pass: false, why: 'heimdall.watcher.query params: missing required field "cypher"' });
    const later = builtinRegistry("underscore");
    const u = judgeAnswer(
      { ...c, naming: "underscore", expect: { action: "heimdall_watcher_discover", params: { query: "x" } } },
      '{"action": "heimdall_watcher_discover", "params": {"limit": 3}}',
      later,
    );
    expect(u).toMatchObject({ pass: false, why: 'heimdall_watcher_discover params: missing required field "query"' });
  });

  it("reads Go's decoding: keys case-insensitive, extras ignored, null params; non-object params fail", () => {
    expect(parseEnvelope2025('Sure: {"Action": "heimdall.watcher.status", "PARAMS": null, "why": 1}', dotted)).toMatchObject({
      kind: "action",
      params: {},
    });
    expect(parseEnvelope2025('{"action": "heimdall.watcher.status", "params": []}', dotted).kind).toBe("text");
    expect(parseEnvelopeLater('{"action": " heimdall.watcher.status ", "params": {}} trailing }', dotted)).toMatchObject({
      kind: "action",
      action: "heimdall.watcher.status",
    });
  });
});
