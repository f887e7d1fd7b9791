export * from "./browser.js";
export { openGguf, writeGgufFile } from "./node.js";
export { convertHfToGguf, openHfModel } from "./convert/convert.js";
export { convertLoraToGguf, isAdapterDir, readAdapterConfig } from "./convert/lora.js";
