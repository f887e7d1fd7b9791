export {
  CHATML_STOP,
  chatmlPrompt,
  LlamaChildError,
  LlamaLoadError,
  LlamaModelProcess,
  LlamaOperationError,
  NotGgufError,
  withLlamaModel,
  type LoadOptions,
} from "./runner.js";
export {
  ggmlDequantize,
  GgmlError,
  ggmlModelQuantize,
  ggmlQuantize,
  ggmlQuantizeAsync,
  ggmlRowSize,
  ggmlTypeInfo,
  llamaModelQuantizeDefaultParams,
  readMiniGguf,
  writeMiniGguf,
  type MiniGgufValue,
} from "./ggml.js";
export {
  NORNICDB_CALL_SITES,
  NORNICDB_SAMPLING,
  NORNICDB_STOP,
  nornicdbAnswer,
  nornicdbAnswerWith,
  nornicdbGenerate,
  nornicdbPrompt,
  nornicdbShare,
} from "./nornicdb.js";
