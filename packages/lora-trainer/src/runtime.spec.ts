import { describe, expect, it } from "vitest";
import { chooseProviders, cudaLibrariesInstalled, keepFreedBlocks, mmapLargeBlocks, setMallocForRun } from "./runtime.js";

describe("execution provider choice", () => {
  it("auto: CUDA first on Linux x64 when its libraries are installed, else the CPU, with the reason and the fix only where there is an NVIDIA GPU", () => {
    const withGpu = chooseProviders("auto", "linux", "x64", true);
    const withoutGpu = chooseProviders("auto", "linux", "x64", false);
    if (cudaLibrariesInstalled()) expect(withGpu).toEqual({ providers: ["cuda", "cpu"], skipped: [] });
    else {
      expect(withGpu.providers).toEqual(["cpu"]);
      expect(withGpu.skipped).toEqual([
        { provider: "cuda", reason: expect.stringMatching(/CUDA libraries are not installed.*ONNXRUNTIME_NODE_INSTALL=cuda12/) },
      ]);
      // A CPU-only machine: no note on every run.
      expect(withoutGpu).toEqual({ providers: ["cpu"], skipped: [] });
    }
  });

  it("auto: CoreML first on macOS arm64; the CPU elsewhere; an explicit device is used alone", () => {
    expect(chooseProviders("auto", "darwin", "arm64").providers).toEqual(["coreml", "cpu"]);
    expect(chooseProviders("auto", "win32", "x64").providers).toEqual(["cpu"]);
    expect(chooseProviders("auto", "linux", "arm64").providers).toEqual(["cpu"]);
    expect(chooseProviders("cuda", "linux", "x64")).toEqual({ providers: ["cuda"], skipped: [] });
    expect(chooseProviders("webgpu").providers).toEqual(["webgpu"]);
  });
});

describe("mmapLargeBlocks, keepFreedBlocks", () => {
  it("set glibc's malloc through mallopt on Linux, and nothing elsewhere", () => {
    // this machine's C library is glibc wherever it is Linux (CI: Debian)
    const applies = process.platform === "linux" && !Object.keys(process.env).some((k) => /^MALLOC_.*_$/.test(k));
    expect(mmapLargeBlocks()).toBe(applies);
    expect(keepFreedBlocks()).toBe(applies);
    expect(setMallocForRun({ fullFineTuning: true, gradientCheckpointing: true })).toBe(applies);
  });
});
