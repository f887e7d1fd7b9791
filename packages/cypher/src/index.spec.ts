import { lintCypherQuery } from "@neo4j-cypher/language-support";
import { describe, expect, it } from "vitest";
import { checkCypher, formatCypherDiagnostic } from "./index.js";

const valid = [
  "MATCH (n:Person) RETURN n",
  "MATCH (a:Person)-[:KNOWS*1..3]->(b:Person) WHERE a.name = $name RETURN b.name ORDER BY b.name LIMIT 5",
  "MATCH p = shortestPath((a:Person {name: 'x'})-[*..6]-(b:Person {name: 'y'})) RETURN length(p)",
  "MATCH (n) WHERE EXISTS { (n)-[:KNOWS]->() } RETURN n, COUNT { (n)--() } AS c",
  "RETURN [x IN range(1, 5) WHERE x % 2 = 0 | x * 2] AS evens",
  "UNWIND [1, 2, 3] AS x WITH x WHERE x > 1 RETURN collect(x)",
  "MERGE (c:City {name: 'Oslo'}) ON CREATE SET c.created = timestamp() RETURN c",
  "MATCH (n:Temp) DETACH DELETE n",
  "MATCH (n:Person) REMOVE n.age RETURN n",
  "MATCH (n:Person) RETURN CASE WHEN n.age < 18 THEN 'minor' ELSE 'adult' END AS bracket",
  "OPTIONAL MATCH (n:Person)-[:OWNS]->(c:Car) RETURN n, c",
  "MATCH (n)\nWHERE n.x = 1\nRETURN n;\nMATCH (m) RETURN m",
];

const invalid: [string, RegExp][] = [
  ["MATCH (n:Person RETURN n", /Invalid input 'RETURN'/],
  ["MATCH (n) RETRUN n", /Invalid input 'RETRUN'/],
  ["MATCH (n", /Invalid input ''/],
  ["MATCH (n) RETURN 'abc", /string literal/],
  ["RETURN 1 +", /expected an expression/],
  [":param x => 1", /Console commands/],
];

describe("checkCypher (syntax level)", () => {
  it.each(valid)("accepts %s", (query) => {
    const result = checkCypher(query);
    expect(result.diagnostics).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it.each(invalid)("rejects %s with Neo4j's message", (query, message) => {
    const result = checkCypher(query);
    expect(result.ok).toBe(false);
    expect(result.diagnostics.some((d) => d.severity === "error" && message.test(d.message))).toBe(true);
  });

  it("gives 1-based line and column", () => {
    const [first] = checkCypher("MATCH (n)\nRETRUN n").diagnostics;
    expect(first).toMatchObject({ line: 2, column: 1, severity: "error", offset: 10 });
    expect(formatCypherDiagnostic(first!)).toMatch(/^2:1 error Invalid input 'RETRUN'/);
  });

  it("treats an empty query as an error", () => {
    expect(checkCypher("  ").ok).toBe(false);
  });

  it("agrees with Neo4j's linter on what is a syntax error", () => {
    // The fast path (the grammar in SLL mode) must never accept something the full linter calls a syntax error.
    const samples = [
      ...valid,
      ...invalid.map(([q]) => q),
      "MATCH (n) RETURN n LIMIT",
      "CREATE (n:X {a: 1}) RETURN n",
      "WITH 1 AS x RETURN x ORDER",
    ];
    for (const query of samples) {
      const ours = checkCypher(query).ok;
      const theirs = !(
        lintCypherQuery(query, {}, { consoleCommandsEnabled: false }).diagnostics as { severity?: number; message: string }[]
      ).some(
        (d) => d.severity === 1 && !/^Parameter \$/.test(d.message) && !/cannot conclude|not defined|not a valid value/.test(d.message),
      );
      expect({ query, ok: ours }).toEqual({ query, ok: theirs });
    }
  });

  it("is fast to call many times", () => {
    const queries = Array.from(
      { length: 300 },
      (_, i) =>
        `MATCH (a:Person {name: 'p${i}'})-[:KNOWS*1..${(i % 3) + 1}]->(b) WHERE b.age > ${i} RETURN b.name AS name, count(*) AS c ORDER BY c DESC LIMIT ${i + 1}`,
    );
    checkCypher(queries[0]!);
    const start = performance.now();
    for (const q of queries) expect(checkCypher(q).ok).toBe(true);
    const perQuery = (performance.now() - start) / queries.length;
    expect(perQuery).toBeLessThan(10); // about 0.3 ms here; the full linter takes about 35 ms
  });
});

describe("checkCypher (semantic level)", () => {
  it("reports what only Neo4j's semantic analysis finds", () => {
    expect(checkCypher("MATCH (n) RETURN m").ok).toBe(true);
    const undefinedVariable = checkCypher("MATCH (n) RETURN m", { semantic: true });
    expect(undefinedVariable.ok).toBe(false);
    expect(undefinedVariable.diagnostics[0]!.message).toMatch(/Variable `m` not defined/);
    expect(checkCypher("MATCH (n)", { semantic: true }).diagnostics[0]!.message).toMatch(/cannot conclude with MATCH/);
    expect(checkCypher("MATCH (n) RETURN n LIMIT -1", { semantic: true }).ok).toBe(false);
  });

  it("accepts parameters unless a list is given", () => {
    expect(checkCypher("RETURN $x", { semantic: true }).ok).toBe(true);
    expect(checkCypher("RETURN $x", { semantic: true, parameters: ["x"] }).ok).toBe(true);
    const missing = checkCypher("RETURN $x, $y", { semantic: true, parameters: ["x"] });
    expect(missing.ok).toBe(false);
    expect(missing.diagnostics.map((d) => d.message)).toEqual(["Parameter $y is not defined."]);
  });

  it("keeps warnings without failing", () => {
    const result = checkCypher("MATCH p = shortestPath((a:A)-[*]-(b:B)) RETURN p", { semantic: true });
    expect(result.ok).toBe(true);
    expect(result.diagnostics.some((d) => d.severity === "warning")).toBe(true);
  });

  it("shares verdicts between queries that differ only in literals, with exact positions on errors", () => {
    expect(checkCypher("MATCH (n:P {name: 'a'}) RETURN n LIMIT 3", { semantic: true }).ok).toBe(true);
    const start = performance.now();
    expect(checkCypher("MATCH (n:P {name: 'a much longer name'}) RETURN n LIMIT 30", { semantic: true }).ok).toBe(true);
    expect(performance.now() - start).toBeLessThan(20);
    const bad = checkCypher("MATCH (n:P {name: 'a much longer name'}) RETURN m LIMIT 30", { semantic: true });
    expect(bad.ok).toBe(false);
    expect(bad.diagnostics[0]!.offset).toBe("MATCH (n:P {name: 'a much longer name'}) RETURN ".length);
  });
});
