// @neural/generator-cypher: natural language -> Cypher pairs over several domain schemas, one category per clause
// family. Every query is parsed by Neo4j's parser (@neural/cypher) before it is written.
import { checkCypher } from "@neural/cypher";
import {
  GeneratorOptionsError,
  union,
  type CategorySpace,
  type Example,
  type GeneratorDefinition,
  type OptionValues,
  type Rng,
} from "@neural/generators";
import { describeSchema, SCHEMAS, type Schema } from "./schemas.js";
import { CATEGORIES, type Built, type CategoryName } from "./templates.js";

export { describeSchema, SCHEMAS, type LabelDef, type PropDef, type RelDef, type Schema } from "./schemas.js";
export { CATEGORIES, verb3, type CategoryDef, type CategoryName } from "./templates.js";

export interface CypherOptions {
  /** Domain schemas to use (default all). */
  schemas?: readonly string[];
  /** Show the graph schema in each row's input (default true). */
  schemaInPrompt?: boolean;
  /** Also run Neo4j's semantic analysis on every query (slow: ~35 ms per new query shape). Default false. */
  semantic?: boolean;
}

const FRAMES = [
  "{q}",
  "Write a Cypher query for this: {q}",
  "Translate into Cypher: {q}",
  "Using the graph schema, write a Cypher query. {q}",
  "Give the Cypher query that answers: {q}",
  "Cypher, please. {q}",
];

export interface CypherCandidate {
  category: CategoryName;
  schema: string;
  /** Which family of the category (index into CATEGORIES[..].families(schema)). */
  family: number;
  built: Built;
}

/** Every query family of one category over the chosen schemas, as one indexed space. */
function categoryIndex(category: (typeof CATEGORIES)[number], schemas: readonly Schema[]) {
  return union(
    schemas.flatMap((schema) =>
      category.families(schema).map((family, i) => ({
        size: family.size,
        at: (index: number): CypherCandidate => ({ category: category.name, schema: schema.name, family: i, built: family.at(index) }),
      })),
    ),
  );
}

export function cypherSpaces(options: CypherOptions = {}): CategorySpace[] {
  const names = options.schemas?.length ? options.schemas : SCHEMAS.map((s) => s.name);
  const schemas = names.map((name) => {
    const schema = SCHEMAS.find((s) => s.name === name);
    if (!schema) throw new GeneratorOptionsError(`unknown schema "${name}"; schemas: ${SCHEMAS.map((s) => s.name).join(", ")}`);
    return schema;
  });
  const described = new Map(schemas.map((s) => [s.name, describeSchema(s)]));
  const showSchema = options.schemaInPrompt ?? true;
  return CATEGORIES.map((category) => {
    const index = categoryIndex(category, schemas);
    return {
      name: category.name,
      weight: category.weight,
      size: index.size,
      description: category.description,
      at(i: number, rng: Rng): Example | undefined {
        const candidate = index.at(i);
        // The real parser decides: a query Neo4j's parser refuses is never written.
        if (!checkCypher(candidate.built.cypher, { semantic: options.semantic ?? false }).ok) return undefined;
        const question = rng.pick(candidate.built.questions);
        const instruction = rng.pick(FRAMES).replace("{q}", question);
        return {
          instruction,
          ...(showSchema
            ? {
                input: `Graph schema (${SCHEMAS.find((s) => s.name === candidate.schema)!.description}):\n${described.get(candidate.schema)!}`,
              }
            : {}),
          output: candidate.built.cypher,
        };
      },
    };
  });
}

/** All candidates of a category, without the parser check (for tests and audits). */
export function cypherCandidates(
  category: CategoryName,
  schemas: readonly string[] = SCHEMAS.map((s) => s.name),
): { size: number; at(i: number): CypherCandidate } {
  const def = CATEGORIES.find((c) => c.name === category);
  if (!def) throw new GeneratorOptionsError(`unknown category ${category}`);
  return categoryIndex(
    def,
    schemas.map((n) => SCHEMAS.find((s) => s.name === n)!),
  );
}

function toOptions(values: OptionValues): CypherOptions {
  const schemas = values.schemas;
  return {
    ...(Array.isArray(schemas) && schemas.length
      ? { schemas }
      : typeof schemas === "string" && schemas
        ? { schemas: schemas.split(",") }
        : {}),
    schemaInPrompt: values.schema_in_prompt !== false,
    semantic: values.semantic === true,
  };
}

export const cypherGenerator: GeneratorDefinition = {
  name: "cypher",
  summary:
    "Natural language -> Cypher over several domain schemas, one category per clause family (MATCH, WHERE, relationships, aggregation, ORDER BY/SKIP/LIMIT, OPTIONAL MATCH, WITH, UNWIND, CREATE, MERGE, SET, DELETE, REMOVE, shortest paths, EXISTS/COUNT subqueries, CASE, list comprehensions, parameters, other clauses). Every query is parsed by Neo4j's parser before it is written.",
  options: [
    {
      name: "schemas",
      type: "string[]",
      description: `domain schemas to use, comma-separated (${SCHEMAS.map((s) => s.name).join(", ")}); default all`,
    },
    { name: "schema_in_prompt", type: "boolean", description: "put the graph schema in each row's input", default: true },
    { name: "semantic", type: "boolean", description: "also run Neo4j's semantic analysis on every query (slower)", default: false },
  ],
  defaultOutput: "data/cypher.jsonl",
  defaultCount: 1000,
  prepare: (values) => cypherSpaces(toOptions(values)),
};
