export * from "./browser.js";
// Node-only (node:fs): file sources/sinks, directories, sharded checkpoints.
export * from "./node.js";
export * from "./checkpoint.js";
export * from "./save.js";
