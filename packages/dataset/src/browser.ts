// @neural/dataset for browsers and Web Workers: everything in index.ts except the Node-only file helpers
// (read-file.ts, tokenizer-file.ts). Bundlers pick it through the "browser" export condition. Read records from
// bytes with readRecords(chunks), e.g. a File's stream().
export { DatasetError, TemplateError, TokenizerError, formatIssue, type RecordIssue } from "./errors.js";
export { readRecords, type ReadEvent, type ReadOptions } from "./read.js";
export { exampleTexts, formatSchemas, toExample, type Example, type FormatName, type Message, type Role } from "./formats.js";
export {
  CHATML_JINJA,
  CHATML_STOP,
  createTemplate,
  type ChatTemplate,
  type TemplateName,
  type TemplateOptions,
  type TextSpan,
} from "./templates.js";
export { createTokenizer, withSpecialTokens, type SpecialToken, type TextTokenizer, type TokenizerFiles } from "./tokenizer.js";
export { IGNORE_INDEX, measureTokens, type DropReason, type EncodedExample, type OverlongPolicy } from "./encode.js";
export {
  attentionMask,
  batches,
  pack,
  packingEfficiency,
  packStream,
  toBatch,
  unpacked,
  type Batch,
  type BatchOptions,
  type Sequence,
} from "./pack.js";
export { epochOrder, splitIndices, type SplitOptions } from "./split.js";
export { hash53, Random } from "./random.js";
export {
  stripCodeFence,
  validateRecords,
  type AnswerCheck,
  type CheckReport,
  type DuplicateReport,
  type LengthReport,
  type ValidateOptions,
  type ValidationReport,
} from "./validate.js";
export { validationReportSchema } from "./report-schema.js";
export {
  encodeRecords,
  prepareDataset,
  resolveTemplate,
  type EncodeStats,
  type PrepareOptions,
  type PreparedDataset,
  type PreparedExample,
} from "./prepare.js";
export { byteToUnicode, CHATML_SPECIAL_TOKENS, trainTokenizer, type TrainedTokenizer, type TrainTokenizerOptions } from "./bpe.js";
export { checkTokenizerJson, preTokenizerName, PRETOKENIZER_PATTERNS, TOKENIZER_LIMITS, type PreTokenizerName } from "@neural/hf-config";
export {
  isPreferenceRecord,
  mismatchedRows,
  preparePreferenceDataset,
  toPreferenceExample,
  type EncodePreferenceOptions,
  type PreferenceExample,
  type PreparedPreference,
  type PreparedPreferenceDataset,
} from "./preference.js";
export { exactVerifier, jsonSchemaVerifier, pairOf, type PairOutcome, type Verdict, type Verifier, type VerifierRow } from "./verify.js";
