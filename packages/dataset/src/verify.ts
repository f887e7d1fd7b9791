// Scoring a model's own answers and turning them into preference pairs (neural pairs): a verifier says whether an
// answer passes; of a prompt's sampled answers, a passing one is chosen and a failing one rejected (best against
// worst); a prompt whose answers all pass, or all fail, gives no pair (a tie).
import { Ajv, type ValidateFunction } from "ajv";
import { stripCodeFence } from "./validate.js";

/** What a verifier sees of a row: its reference answer, when the row has one. */
export interface VerifierRow {
  expected?: string;
}

export interface Verdict {
  pass: boolean;
  /** Why it failed (one line). */
  reason?: string;
}

export interface Verifier {
  name: string;
  /** Rows must carry an expected answer (exact). */
  needsExpected: boolean;
  check(answer: string, row: VerifierRow): Verdict | Promise<Verdict>;
}

/** The answer equals the row's reference answer (both trimmed), as neural eval counts exact match. */
export const exactVerifier: Verifier = {
  name: "exact",
  needsExpected: true,
  check: (answer, row) =>
    answer.trim() === (row.expected ?? "").trim() ? { pass: true } : { pass: false, reason: "differs from the reference answer" },
};

/** The answer (a code fence around it allowed) is JSON valid against a JSON Schema (ajv). */
export function jsonSchemaVerifier(schema: Record<string, unknown>): Verifier {
  let validate: ValidateFunction;
  try {
    validate = new Ajv({ allErrors: false, strict: false }).compile(schema);
  } catch (error) {
    throw new TypeError(`the JSON Schema does not compile: ${(error as Error).message}`);
  }
  return {
    name: "json-schema",
    needsExpected: false,
    check(answer) {
      let value: unknown;
      try {
        value = JSON.parse(stripCodeFence(answer));
      } catch {
        return { pass: false, reason: "not JSON" };
      }
      if (validate(value)) return { pass: true };
      const e = validate.errors![0]!;
      return { pass: false, reason: `${e.instancePath || "/"} ${e.message ?? "invalid"}` };
    },
  };
}

export type PairOutcome = "paired" | "all_pass" | "all_fail";

/**
 * A prompt's chosen and rejected answers from its scored samples: the first passing answer against the first failing
 * one that differs from it; no pair when they all pass or all fail.
 */
export function pairOf(samples: readonly { text: string; pass: boolean }[]): { outcome: PairOutcome; chosen?: string; rejected?: string } {
  const chosen = samples.find((s) => s.pass);
  const rejected = samples.find((s) => !s.pass && s.text !== chosen?.text);
  if (!chosen) return { outcome: "all_fail" };
  if (!rejected) return { outcome: "all_pass" };
  return { outcome: "paired", chosen: chosen.text, rejected: rejected.text };
}
