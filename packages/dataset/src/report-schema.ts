// JSON Schema of `neural validate --json` output (the ValidationReport type).
const issue = {
  type: "object",
  required: ["file", "line", "message"],
  properties: {
    file: { type: "string" },
    line: { type: "integer", minimum: 0 },
    column: { type: "integer", minimum: 1 },
    field: { type: "string" },
    message: { type: "string" },
  },
  additionalProperties: false,
} as const;

const count = { type: "integer", minimum: 0 } as const;

const duplicates = {
  type: "object",
  required: ["rows", "ratio", "groups", "omittedGroups"],
  properties: {
    rows: count,
    ratio: { type: "number", minimum: 0, maximum: 1 },
    groups: {
      type: "array",
      items: {
        type: "object",
        required: ["lines"],
        properties: { lines: { type: "array", items: count, minItems: 2 } },
        additionalProperties: false,
      },
    },
    omittedGroups: count,
  },
  additionalProperties: false,
} as const;

const lengths = {
  oneOf: [
    { type: "null" },
    {
      type: "object",
      required: ["unit", "count", "min", "mean", "p50", "p95", "max", "histogram"],
      properties: {
        unit: { enum: ["tokens", "characters"] },
        count,
        min: count,
        mean: { type: "number", minimum: 0 },
        p50: count,
        p95: count,
        max: count,
        histogram: {
          type: "array",
          items: {
            type: "object",
            required: ["from", "to", "count"],
            properties: { from: count, to: count, count },
            additionalProperties: false,
          },
        },
        maxLength: count,
        overMaxLength: count,
      },
      additionalProperties: false,
    },
  ],
} as const;

const categoryCount = {
  type: "object",
  required: ["category", "count"],
  properties: { category: { type: "string" }, count },
  additionalProperties: false,
} as const;

export const validationReportSchema = {
  $id: "https://neural.dev/schemas/validation-report.json",
  title: "neural validate report",
  type: "object",
  required: [
    "file",
    "records",
    "valid",
    "invalid",
    "formats",
    "categories",
    "uncategorized",
    "errors",
    "duplicates",
    "lengths",
    "categoryBalance",
    "checks",
    "problems",
    "warnings",
    "ok",
  ],
  properties: {
    file: { type: "string" },
    records: count,
    valid: count,
    invalid: count,
    formats: {
      type: "object",
      required: ["instruction", "chat", "prompt_completion", "completion"],
      properties: { instruction: count, chat: count, prompt_completion: count, completion: count },
      additionalProperties: false,
    },
    categories: { type: "object", additionalProperties: count },
    uncategorized: count,
    errors: {
      type: "object",
      required: ["total", "shown", "omitted"],
      properties: { total: count, shown: { type: "array", items: issue }, omitted: count },
      additionalProperties: false,
    },
    duplicates: {
      type: "object",
      required: ["exact", "normalized"],
      properties: { exact: duplicates, normalized: duplicates },
      additionalProperties: false,
    },
    lengths,
    categoryBalance: {
      oneOf: [
        { type: "null" },
        {
          type: "object",
          required: ["ratio", "smallest", "largest"],
          properties: { ratio: { type: "number", minimum: 1 }, smallest: categoryCount, largest: categoryCount },
          additionalProperties: false,
        },
      ],
    },
    checks: {
      type: "object",
      additionalProperties: {
        type: "object",
        required: ["checked", "failed", "shown", "omitted"],
        properties: { checked: count, failed: count, shown: { type: "array", items: issue }, omitted: count },
        additionalProperties: false,
      },
    },
    preference: {
      type: "object",
      required: ["pairs", "desirable", "undesirable", "promptLengths"],
      properties: { pairs: count, desirable: count, undesirable: count, promptLengths: lengths },
      additionalProperties: false,
    },
    problems: { type: "array", items: { type: "string" } },
    warnings: { type: "array", items: { type: "string" } },
    ok: { type: "boolean" },
  },
  additionalProperties: false,
} as const;
