// Cypher checking with Neo4j's own tooling (@neo4j-cypher/language-support):
//  - syntax: Neo4j's Cypher grammar (the ANTLR parser the language support ships), run in ANTLR's fast SLL mode;
//    any query it does not accept at once is handed to the full linter, whose diagnostics are authoritative;
//  - semantic: additionally Neo4j's semantic analysis (its Java front end compiled to JavaScript, the same code
//    that `lintCypherQuery` runs): undefined variables, queries that cannot end with a reading clause, bad LIMITs...
import { CypherLanguageService, lintCypherQuery } from "@neo4j-cypher/language-support";
import { CharStream, CommonTokenStream, PredictionMode } from "antlr4ng";

export type CypherSeverity = "error" | "warning";

export interface CypherDiagnostic {
  message: string;
  /** 1-based line of the start of the problem. */
  line: number;
  /** 1-based column of the start of the problem. */
  column: number;
  severity: CypherSeverity;
  /** 0-based character offset of the start, and the length of the flagged text (0 at the end of the query). */
  offset: number;
  length: number;
}

export interface CypherCheckResult {
  /** True when the query has no error-severity diagnostic (warnings do not fail it). */
  ok: boolean;
  diagnostics: CypherDiagnostic[];
  /** The level that produced the verdict. */
  level: "syntax" | "semantic";
}

export interface CheckCypherOptions {
  /**
   * Also run Neo4j's semantic analysis (about 35 ms a query on one core, against about 0.3 ms for the syntax level;
   * results for queries that differ only in literal values are shared, see README). Default false.
   */
  semantic?: boolean;
  /**
   * The parameters the query may use. By default any `$parameter` is accepted; with a list, a parameter not named
   * in it is an error (the semantic level only).
   */
  parameters?: readonly string[];
}

export class CypherCheckerError extends Error {
  override name = "CypherCheckerError";
}

// The linter's service object gives access to the grammar's generated lexer and parser classes, which the package
// does not export by name; we take them from a parse of a trivial query once.
interface RecognizerClasses {
  Lexer: new (input: CharStream) => AntlrLexer;
  Parser: new (tokens: CommonTokenStream) => AntlrParser;
}
interface AntlrLexer {
  removeErrorListeners(): void;
}
interface AntlrParser {
  removeErrorListeners(): void;
  addErrorListener(listener: unknown): void;
  interpreter: { predictionMode: number };
  statementsOrCommands(): unknown;
}

let recognizers: RecognizerClasses | null | undefined;
const service = new CypherLanguageService({ consoleCommandsEnabled: false });

function loadRecognizers(): RecognizerClasses | null {
  if (recognizers !== undefined) return recognizers;
  try {
    const parsed = (service as unknown as { parse(q: string): unknown }).parse("RETURN 1") as {
      statementsParsing: { parser: { constructor: unknown }; tokens: { source?: [{ constructor: unknown } | null, unknown] }[] }[];
    };
    const statement = parsed.statementsParsing[0]!;
    const lexer = statement.tokens[0]?.source?.[0];
    if (!lexer) throw new Error("no lexer");
    recognizers = {
      Lexer: lexer.constructor as RecognizerClasses["Lexer"],
      Parser: statement.parser.constructor as RecognizerClasses["Parser"],
    };
  } catch {
    recognizers = null; // fall back to the linter for every query (slower, same verdicts)
  }
  return recognizers;
}

/** Neo4j's grammar in SLL mode: true when it accepts the whole input without a single syntax error. */
function grammarAccepts(query: string): boolean | undefined {
  const classes = loadRecognizers();
  if (!classes) return undefined;
  let errors = 0;
  const listener = {
    syntaxError: () => {
      errors++;
    },
    reportAmbiguity: () => {},
    reportAttemptingFullContext: () => {},
    reportContextSensitivity: () => {},
  };
  const lexer = new classes.Lexer(CharStream.fromString(query));
  lexer.removeErrorListeners();
  (lexer as unknown as { addErrorListener(l: unknown): void }).addErrorListener(listener);
  const parser = new classes.Parser(new CommonTokenStream(lexer as never));
  parser.removeErrorListeners();
  parser.addErrorListener(listener);
  parser.interpreter.predictionMode = PredictionMode.SLL;
  parser.statementsOrCommands();
  return errors === 0;
}

interface LspDiagnostic {
  severity?: number;
  message: string;
  range: { start: { line: number; character: number } };
  offsets: { start: number; end: number };
}

function convert(diagnostics: readonly LspDiagnostic[], parameters: readonly string[] | undefined): CypherDiagnostic[] {
  const declared = parameters ? new Set(parameters) : undefined;
  const out: CypherDiagnostic[] = [];
  for (const d of diagnostics) {
    const param = /^Parameter \$(.+) is not defined\.$/.exec(d.message);
    if (param && (!declared || declared.has(param[1]!.replace(/^`|`$/g, "")))) continue;
    out.push({
      message: d.message,
      line: d.range.start.line + 1,
      column: d.range.start.character + 1,
      severity: d.severity === 1 || d.severity === undefined ? "error" : "warning",
      offset: d.offsets.start,
      length: Math.max(0, d.offsets.end - d.offsets.start),
    });
  }
  return out;
}

function lint(query: string, parameters: readonly string[] | undefined, level: "syntax" | "semantic"): CypherCheckResult {
  const { diagnostics } = lintCypherQuery(query, {}, { consoleCommandsEnabled: false }) as { diagnostics: LspDiagnostic[] };
  const converted = convert(diagnostics, parameters);
  return { ok: !converted.some((d) => d.severity === "error"), diagnostics: converted, level };
}

// Semantic verdicts are shared between queries that differ only in string and number literals: Neo4j's semantic
// analysis (with no database schema) never depends on a literal's value, except for out-of-range integers, which
// are kept verbatim. Only clean verdicts are cached; anything with a diagnostic is re-run on the query itself so
// positions are exact.
const SEMANTIC_CACHE_LIMIT = 50_000;
const cleanShapes = new Set<string>();

const STRING_LITERAL1 = 24;
const STRING_LITERAL2 = 25;
const DECIMAL_DOUBLE = 20;
const UNSIGNED_DECIMAL_INTEGER = 21;
const SINGLE_LINE_COMMENT = 18;
const MULTI_LINE_COMMENT = 19;

function shapeOf(query: string): string | undefined {
  const classes = loadRecognizers();
  if (!classes) return undefined;
  const lexer = new classes.Lexer(CharStream.fromString(query));
  lexer.removeErrorListeners();
  const stream = new CommonTokenStream(lexer as never);
  stream.fill();
  let shape = "";
  for (const token of stream.getTokens()) {
    if (token.type === -1) break;
    const text = token.text ?? "";
    switch (token.type) {
      case STRING_LITERAL1:
      case STRING_LITERAL2:
        shape += "'s'";
        break;
      case UNSIGNED_DECIMAL_INTEGER:
        shape += text.length <= 15 ? "1" : text;
        break;
      case DECIMAL_DOUBLE:
        shape += "1.0";
        break;
      case SINGLE_LINE_COMMENT:
      case MULTI_LINE_COMMENT:
        shape += " ";
        break;
      default:
        shape += text;
    }
  }
  return shape;
}

/**
 * Checks one Cypher query with Neo4j's parser. Pure and synchronous; safe and cheap to call many times (the grammar
 * is loaded once). Never throws for a bad query: problems come back as diagnostics.
 */
export function checkCypher(query: string, options: CheckCypherOptions = {}): CypherCheckResult {
  if (typeof query !== "string") throw new CypherCheckerError("checkCypher needs a string");
  if (query.trim() === "") {
    return {
      ok: false,
      diagnostics: [{ message: "Empty query", line: 1, column: 1, severity: "error", offset: 0, length: 0 }],
      level: "syntax",
    };
  }
  // Console commands (":param x => 1") are a cypher-shell feature, not Cypher: the linter reports them.
  const consoleCommand = /(^|;)\s*:/.test(query);
  if (!options.semantic) {
    if (!consoleCommand && grammarAccepts(query) === true) return { ok: true, diagnostics: [], level: "syntax" };
    return lint(query, options.parameters, "syntax");
  }
  const params = options.parameters ? [...options.parameters].sort().join(",") : "*";
  const shape = consoleCommand ? undefined : shapeOf(query);
  const key = shape === undefined ? undefined : `${params}\u0000${shape}`;
  if (key !== undefined && cleanShapes.has(key)) return { ok: true, diagnostics: [], level: "semantic" };
  if (shape !== undefined && key !== undefined && shape !== query) {
    const shaped = lint(shape, options.parameters, "semantic");
    if (shaped.diagnostics.length === 0) {
      remember(key);
      return shaped;
    }
  }
  const result = lint(query, options.parameters, "semantic");
  if (key !== undefined && result.diagnostics.length === 0) remember(key);
  return result;
}

function remember(key: string): void {
  if (cleanShapes.size >= SEMANTIC_CACHE_LIMIT) cleanShapes.clear();
  cleanShapes.add(key);
}

/** Formats a diagnostic as `line:column severity message`. */
export function formatCypherDiagnostic(d: CypherDiagnostic): string {
  return `${d.line}:${d.column} ${d.severity} ${d.message}`;
}
