// The child process that hosts llama.cpp (through node-llama-cpp). A malformed GGUF can make llama.cpp abort(),
// which kills the whole process: here that only kills this child, and the parent reports a typed error.
// Protocol (IPC, advanced serialization): parent sends {id, op, args}; child answers {id, ok, result} or {id, ok:false, error}.
// Plain JavaScript so it runs with `node` alone, from src/ in tests and from dist/ when published.
import process from "node:process";

const logs = [];
let llama;
let model;
let context;
let sequence;

function send(message) {
  if (process.send) process.send(message);
}

async function load({ path, contextSize, threads, lora, gpu, kvCacheType, flashAttention }) {
  let nodeLlamaCpp;
  try {
    nodeLlamaCpp = await import("node-llama-cpp");
  } catch (error) {
    throw new Error(
      `node-llama-cpp is not installed (an optional dependency of @neural/llama; install node-llama-cpp@3.21.1): ${error?.message ?? error}`,
    );
  }
  const { getLlama, LlamaLogLevel } = nodeLlamaCpp;
  llama = await getLlama({
    gpu: gpu ?? false,
    build: "never",
    skipDownload: true,
    usePrebuiltBinaries: true,
    progressLogs: false,
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => {
      if (logs.length < 500) logs.push(`${level}: ${message}`);
    },
  });
  model = await llama.loadModel({ modelPath: path, gpuLayers: 0, useMmap: false, checkTensors: true });
  context = await model.createContext({
    contextSize,
    batchSize: contextSize,
    threads,
    sequences: 1,
    // undefined keeps llama.cpp's defaults (F16 KV cache, flash attention "auto")
    ...(kvCacheType ? { experimentalKvCacheKeyType: kvCacheType, experimentalKvCacheValueType: kvCacheType } : {}),
    ...(flashAttention !== undefined ? { flashAttention } : {}),
    ...(lora && lora.length ? { lora: { adapters: lora.map((a) => ({ filePath: a.path, scale: a.scale ?? 1 })) } } : {}),
  });
  sequence = context.getSequence();
  const t = model.tokens;
  return {
    vocabSize: vocabSizeOf(),
    bos: t.bos,
    eos: t.eos,
    eot: t.eot,
    eog: eogTokens(),
    nl: t.nl,
    shouldPrependBos: t.shouldPrependBosToken,
    shouldAppendEos: t.shouldAppendEosToken,
    trainContextSize: model.trainContextSize,
    vocabularyType: model.vocabularyType,
    contextSize: context.contextSize,
  };
}

function eogTokens() {
  const n = vocabSizeOf() ?? 0;
  const eog = [];
  for (let token = 0; token < n; token++) if (model.isEogToken(token)) eog.push(token);
  return eog;
}

function vocabSizeOf() {
  return model.fileInfo?.metadata?.tokenizer?.ggml?.tokens?.length;
}

async function distributions({ tokens, from = 0 }) {
  await sequence.clearHistory();
  // Distributions only from position `from` on (the others are evaluated without output).
  const res = (
    await sequence.controlledEvaluate(tokens.map((t, i) => (i >= from ? [t, { generateNext: { probabilities: true, token: true } }] : t)))
  ).slice(from);
  let n = vocabSizeOf() ?? 0;
  for (const r of res) for (const tok of r.next.probabilities.keys()) if (tok >= n) n = tok + 1;
  const out = [];
  const greedy = [];
  for (const r of res) {
    const probs = new Float64Array(n);
    for (const [tok, p] of r.next.probabilities) probs[tok] = p;
    out.push(probs);
    greedy.push(r.next.token);
  }
  await sequence.clearHistory();
  return { probabilities: out, greedy };
}

async function generate({ tokens, maxTokens, stop, special, temperature, topK, topP, seed, stopPerToken }) {
  await sequence.clearHistory();
  const generated = [];
  let text = "";
  let stoppedBy = "maxTokens";
  const sampling = temperature > 0 ? { temperature, topK, topP, seed } : { temperature: 0 };
  if (maxTokens > 0) {
    for await (const token of sequence.evaluate(tokens, { ...sampling, yieldEogToken: true })) {
      generated.push(token);
      if (model.isEogToken(token)) {
        stoppedBy = "eog";
        break;
      }
      if (stopPerToken) {
        // NornicDB: each token's piece (llama_token_to_piece, special = 1) is compared whole with each stop string
        // and appended to the answer otherwise, so a stop string spread over several tokens never fires.
        const piece = model.detokenize([token], true, tokens.concat(generated.slice(0, -1)));
        if ((stop ?? []).includes(piece)) {
          stoppedBy = `stop:${piece}`;
          break;
        }
        text += piece;
        if (generated.length >= maxTokens) break;
        continue;
      }
      // special: each token's piece as llama_token_to_piece(special = true) writes it after the prompt (control
      // tokens as text, no leading-space strip on the first token); otherwise llama_detokenize of the answer alone.
      text = special ? model.detokenize(generated, true, tokens) : model.detokenize(generated, false);
      const hit = (stop ?? []).find((s) => text.includes(s));
      if (hit !== undefined) {
        text = text.slice(0, text.indexOf(hit));
        stoppedBy = `stop:${hit}`;
        break;
      }
      if (generated.length >= maxTokens) break;
    }
  }
  await sequence.clearHistory();
  return { tokens: generated, text, stoppedBy };
}

const ops = {
  load,
  tokenize: async ({ text, special }) => model.tokenize(text, special),
  detokenize: async ({ tokens, special }) => model.detokenize(tokens, special),
  distributions,
  generate,
  logs: async () => logs.slice(),
  close: async () => {
    await context?.dispose();
    await model?.dispose();
    await llama?.dispose();
    return true;
  },
};

process.on("message", async (message) => {
  const { id, op, args } = message;
  try {
    const fn = ops[op];
    if (!fn) throw new Error(`unknown op ${op}`);
    const result = await fn(args ?? {});
    send({ id, ok: true, result });
    if (op === "close") setImmediate(() => process.exit(0));
  } catch (error) {
    send({ id, ok: false, error: { name: error?.name ?? "Error", message: String(error?.message ?? error), logs: logs.slice(-20) } });
  }
});

process.on("disconnect", () => process.exit(0));
send({ ready: true });
