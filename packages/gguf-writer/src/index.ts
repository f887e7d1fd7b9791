export * from "./browser.js";
export { openGguf, writeGgufFile } from "./node.js";
export { convertHfToGguf, openHfModel, type ConvertOptions } from "./convert/convert.js";
export { convertLoraToGguf, isAdapterDir, readAdapterConfig, type LoraConvertOptions, type PeftAdapterConfig } from "./convert/lora.js";
