export * from "./browser.js";
export * from "./node.js";
export * from "./convert/convert.js";
export * from "./convert/lora.js";
