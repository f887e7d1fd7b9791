// @neural/dataset: the browser-safe core (browser.ts) plus the Node-only file helpers.
export * from "./browser.js";
export { datasetTexts, prepareDatasetFile, readRecordsFromFile, validateFile } from "./read-file.js";
export { loadTokenizer, readTokenizerFiles, saveTokenizer } from "./tokenizer-file.js";
