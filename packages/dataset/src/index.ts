// @neural/dataset: the browser-safe core (browser.ts) plus the Node-only file helpers.
export * from "./browser.js";
export * from "./read-file.js";
export * from "./tokenizer-file.js";
