import { describe, expect, it } from "vitest";
import { chooseProviders, cudaLibrariesInstalled } from "./runtime.js";

describe("execution provider choice", () => {
  it("auto: CUDA first on Linux x64 when its libraries are installed, else the CPU with the reason and the fix", () => {
    const linux = chooseProviders("auto", "linux", "x64");
    if (cudaLibrariesInstalled()) expect(linux).toEqual({ providers: ["cuda", "cpu"], skipped: [] });
    else {
      expect(linux.providers).toEqual(["cpu"]);
      expect(linux.skipped).toEqual([{ provider: "cuda", reason: expect.stringMatching(/CUDA libraries are not installed.*ONNXRUNTIME_NODE_INSTALL=cuda12/) }]);
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
