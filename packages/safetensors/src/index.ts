export * from "./browser.js";
// Node-only (node:fs): file sources/sinks, directories, sharded checkpoints.
export { openFileSink, openFileSource, processAlive, removeDeadTempFiles } from "./node.js";
export { openCheckpoint, openSafetensors } from "./checkpoint.js";
export { saveSafetensors, saveShardedSafetensors, type ShardOptions } from "./save.js";
