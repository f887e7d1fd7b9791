// The page end to end in Chromium from npm (headless, driven by playwright-core): served as static files on localhost,
// it trains on the bundled example in a Web Worker (multi-threaded WASM), the loss falls, the GGUF it offers is
// downloaded and llama.cpp (a child process) loads it and gives the trained answers to the held-out prompts. LoRA on
// the downloaded model, picked as a folder, gives the PEFT adapter and a merged GGUF llama.cpp agrees with. A bad
// file gets the same line-numbered errors as `neural validate`. The page after training is kept as a screenshot:
// apps/web/test-results/after-training.png.
import { CHATML_STOP, chatmlPrompt, LlamaModelProcess } from "@neural/llama";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP, DIST, ensureBuilt, launchChromium } from "../test/browser.js";
import { serveStatic, type StaticServer } from "../test/static-server.js";

interface PageState {
  state: string;
  runtime?: { providers: string[]; threads: number; crossOriginIsolated: boolean; webgpu: boolean };
  provider?: string;
  losses: { step: number; loss: number }[];
  tokensPerSecond?: number;
  samples: { prompt: string; messages: { role: string; content: string }[]; expected: string; generated: string }[];
  exactMatch?: number;
  files: string[];
  report?: string[];
  error?: string;
}

const RESULTS = join(APP, "test-results");
const work = mkdtempSync(join(tmpdir(), "neural-web-test-"));
let server: StaticServer;
/** The page after the from-scratch run (the LoRA test starts from its downloads). */
let trained: Page | undefined;
let chromium: Awaited<ReturnType<typeof launchChromium>>;

beforeAll(async () => {
  ensureBuilt();
  server = await serveStatic(DIST);
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

const state = (page: Page) => page.evaluate(() => (window as unknown as { neuralWeb: PageState }).neuralWeb);

async function openPage(query = ""): Promise<Page> {
  const page = await chromium.context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(server.url + query);
  // The bundled example is validated as soon as the page opens.
  await page.waitForFunction(() => (window as unknown as { neuralWeb: PageState }).neuralWeb?.report !== undefined);
  expect(errors).toEqual([]);
  return page;
}

describe("the web page", () => {
  it("trains on the bundled example; llama.cpp runs the downloaded GGUF with the trained answers", async () => {
    const page = await openPage("?threads=2");
    expect((await state(page)).report![0]).toBe("support-routing.jsonl: 256 records, 256 valid, 0 invalid");
    const settings: Record<string, string> = {
      hidden_size: "64",
      num_hidden_layers: "2",
      num_attention_heads: "4",
      intermediate_size: "128",
      vocab_size: "512",
      max_steps: "60",
      learning_rate: "0.003",
      batch_size: "8",
      max_length: "128",
      eval_steps: "30",
    };
    for (const [id, value] of Object.entries(settings)) await page.fill(`#${id}`, value);
    await page.selectOption("#out_type", "F16");
    await page.click("#train");
    await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state ?? ""), undefined, { timeout: 240_000 });
    const s = await state(page);
    expect(s.error).toBeUndefined();
    expect(s.state).toBe("done");

    // Multi-threaded WASM (the server sends the cross-origin isolation headers; this Chromium has no GPU).
    expect(s.runtime).toMatchObject({ crossOriginIsolated: true, threads: 2, webgpu: false });
    expect(s.provider).toBe("wasm");
    // The loss falls: from about ln(512) to a small fraction of it.
    expect(s.losses).toHaveLength(60);
    const mean = (xs: { loss: number }[]) => xs.reduce((a, b) => a + b.loss, 0) / xs.length;
    expect(mean(s.losses.slice(0, 5))).toBeGreaterThan(5);
    expect(mean(s.losses.slice(-5))).toBeLessThan(mean(s.losses.slice(0, 5)) / 4);
    expect(s.tokensPerSecond).toBeGreaterThan(0);
    // What the page shows: the curve, the step, tokens/s and the held-out answers.
    expect(await page.locator("#chart svg polyline").count()).toBeGreaterThanOrEqual(2);
    expect(await page.textContent("#step")).toBe("60 / 60");
    expect(await page.textContent("#tps")).toMatch(/^[\d,]+$/);
    expect(await page.locator("#samples tbody tr").count()).toBe(s.samples.length);
    expect(s.samples.length).toBeGreaterThanOrEqual(10);
    expect(s.files).toEqual([
      "support-routing-f16.gguf",
      "model.safetensors",
      "config.json",
      "tokenizer.json",
      "tokenizer_config.json",
      "train_config.json",
    ]);

    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, "after-training.png"), fullPage: true });

    // Download the GGUF the page offers, and ask llama.cpp the held-out prompts.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click('a[data-file="support-routing-f16.gguf"]')]);
    const gguf = join(work, download.suggestedFilename());
    await download.saveAs(gguf);
    expect(new TextDecoder().decode(readFileSync(gguf).subarray(0, 4))).toBe("GGUF");
    const model = await LlamaModelProcess.load(gguf, { contextSize: 256 });
    const answers: string[] = [];
    try {
      for (const sample of s.samples)
        answers.push((await model.generate(chatmlPrompt(sample.messages), { maxTokens: 8, stop: CHATML_STOP })).text.trim());
    } finally {
      await model.close();
    }
    // llama.cpp answers as the model did in the browser, and those answers are the right teams.
    expect(answers).toEqual(s.samples.map((x) => x.generated));
    const right = answers.filter((a, i) => a === s.samples[i]!.expected).length;
    expect(right / answers.length).toBeGreaterThanOrEqual(0.9);
    trained = page;
  });

  it("trains LoRA on a model folder (the downloaded model) and offers the adapter and the merged GGUF", async () => {
    expect(trained).toBeDefined();
    const folder = join(work, "routing-base");
    mkdirSync(folder, { recursive: true });
    for (const name of ["model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json"]) {
      const [download] = await Promise.all([trained!.waitForEvent("download"), trained!.click(`a[data-file="${name}"]`)]);
      await download.saveAs(join(folder, name));
    }
    await trained!.close();
    const page = await openPage("?threads=2");
    await page.setInputFiles("#model-folder", folder);
    expect(await page.isChecked('input[name="mode"][value="lora"]')).toBe(true);
    for (const [id, value] of Object.entries({ lora_r: "4", lora_alpha: "8", max_steps: "10", learning_rate: "0.001", eval_steps: "10" }))
      await page.fill(`#${id}`, value);
    await page.click("#train");
    await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state ?? ""), undefined, { timeout: 240_000 });
    const s = await state(page);
    expect(s.error).toBeUndefined();
    expect(s.files).toEqual([
      "routing-base-f16.gguf",
      "adapter_model.safetensors",
      "adapter_config.json",
      "model.safetensors",
      "config.json",
      "tokenizer.json",
      "tokenizer_config.json",
      "train_config.json",
    ]);
    expect(await page.textContent("#log")).toContain("training LoRA adapters");
    const [download] = await Promise.all([page.waitForEvent("download"), page.click('a[data-file="adapter_config.json"]')]);
    const adapterConfig = join(work, "adapter_config.json");
    await download.saveAs(adapterConfig);
    expect(JSON.parse(readFileSync(adapterConfig, "utf8"))).toMatchObject({
      peft_type: "LORA",
      r: 4,
      lora_alpha: 8,
      base_model_name_or_path: "routing-base",
    });
    // The merged GGUF: llama.cpp gives the answers the base + adapter gave in the browser.
    const [gguf] = await Promise.all([page.waitForEvent("download"), page.click('a[data-file="routing-base-f16.gguf"]')]);
    const merged = join(work, "merged.gguf");
    await gguf.saveAs(merged);
    const model = await LlamaModelProcess.load(merged, { contextSize: 256 });
    try {
      for (const sample of s.samples)
        expect((await model.generate(chatmlPrompt(sample.messages), { maxTokens: 8, stop: CHATML_STOP })).text.trim()).toBe(
          sample.generated,
        );
    } finally {
      await model.close();
    }
    await page.close();
  });

  it("shows a bad file's errors with their lines, as neural validate prints them, and refuses to train on it", async () => {
    const page = await openPage();
    const text = [
      '{"messages": [{"role": "user", "content": "unfinished"}',
      '{"instruction": "Route this message", "output": 7}',
      '{"messages": [{"role": "user", "content": "no answer"}]}',
      "not json at all",
    ].join("\n");
    const file = join(work, "bad.jsonl");
    writeFileSync(file, text + "\n");
    await page.setInputFiles("#dataset-file", { name: "bad.jsonl", mimeType: "application/jsonl", buffer: Buffer.from(text + "\n") });
    await page.waitForFunction(() => (window as unknown as { neuralWeb: PageState }).neuralWeb.report?.[0]?.startsWith("bad.jsonl"));
    const shown = (await state(page)).report!;
    expect(await page.textContent("#report")).toBe(shown.join("\n"));

    // The CLI on the same file.
    const root = join(APP, "..", "..");
    const cli = spawnSync(
      join(root, "node_modules", ".bin", "tsx"),
      ["--conditions=source", join(root, "apps", "cli", "src", "main.ts"), "validate", "bad.jsonl"],
      { cwd: work, encoding: "utf8" },
    );
    expect(cli.status).toBe(1);
    const printed = cli.stdout.split("\n");
    expect(shown[0]).toBe("bad.jsonl: 4 records, 0 valid, 4 invalid");
    expect(shown[1]).toBe("errors (4):");
    const errorLines = shown.filter((l) => l.startsWith("  bad.jsonl:"));
    expect(errorLines.map((l) => l.trim().split(":")[1])).toEqual(["1", "2", "3", "4"]);
    for (const line of shown) expect(printed).toContain(line);

    // Training on it stops before the first step, with the trainer's message.
    await page.click("#train");
    await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state ?? ""), undefined, { timeout: 60_000 });
    const s = await state(page);
    expect(s.state).toBe("error");
    expect(s.error).toMatch(/^DatasetError: bad\.jsonl: no (usable|training) examples/);
    expect(await page.textContent("#log")).toContain(errorLines[0]!.trim());
    await page.close();
  });
});
