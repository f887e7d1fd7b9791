// The packaging rule (docs/packaging.md), checked on every package of the workspace, so that a new package that does
// not follow it fails here. What the tarballs really hold and that they install and run without the workspace is
// scripts/pack-install.mjs's job (a step of .ci/run).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { publishedManifest } = createRequire(import.meta.url)(path.join(root, ".pnpmfile.cjs")) as {
  publishedManifest(pkg: Manifest): Manifest;
};

interface Manifest {
  name: string;
  private?: boolean;
  version: string;
  exports?: unknown;
  main?: string;
  types?: string;
  bin?: Record<string, string>;
  files?: string[];
  scripts?: Record<string, string>;
  engines?: Record<string, string>;
  publishConfig?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const workspace = ["packages", "apps"].flatMap((folder) =>
  readdirSync(path.join(root, folder))
    .map((name) => path.join(root, folder, name))
    .filter((dir) => existsSync(path.join(dir, "package.json")))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as Manifest })),
);
const isPublic = (m: Manifest) => m.private !== true;
const publicNames = new Set(workspace.filter((p) => isPublic(p.manifest)).map((p) => p.manifest.name));

/** Every file path an exports map names, with the conditions that lead to it. */
function targets(exports: unknown, conditions: string[] = []): { conditions: string[]; target: string }[] {
  if (typeof exports === "string") return [{ conditions, target: exports }];
  if (exports === null || typeof exports !== "object") return [];
  return Object.entries(exports).flatMap(([key, value]) => targets(value, key.startsWith(".") ? conditions : [...conditions, key]));
}

/** Whether the tarball ships `target` (a "./..." path): it lies under one of `files`, or is the manifest itself. */
const shipped = (files: readonly string[], target: string) =>
  target === "./package.json" || files.some((f) => path.posix.normalize(target).startsWith(`${f.replace(/\/$/, "")}/`));

describe("packaging", () => {
  it("the CLI and the libraries are published, the fixtures and the apps that are pages are not", () => {
    expect([...publicNames]).toContain("@neural/cli");
    expect(
      workspace
        .filter((p) => !isPublic(p.manifest))
        .map((p) => p.manifest.name)
        .sort(),
    ).toEqual(["@neural/testkit", "web"]);
  });

  for (const { dir, manifest } of workspace.filter((p) => isPublic(p.manifest))) {
    const name = path.relative(root, dir);
    describe(name, () => {
      it("is an @neural package with public access, a README, a Node range and a build that runs before pack/publish", () => {
        expect(manifest.name).toMatch(/^@neural\//);
        expect(manifest.publishConfig?.access).toBe("public");
        expect(existsSync(path.join(dir, "README.md"))).toBe(true);
        expect(manifest.engines?.node).toBe(">=20.19");
        expect(manifest.scripts?.build).toBeTruthy();
        expect(manifest.scripts?.prepack).toBe("pnpm run build");
        expect(manifest.files).toEqual(expect.arrayContaining(["dist", "README.md"]));
      });

      it("has exports, main and types; each workspace 'source' condition points at a TypeScript source that exists", () => {
        expect(manifest.exports).toBeTypeOf("object");
        expect(manifest.main).toMatch(/^\.\/dist\//);
        expect(manifest.types).toMatch(/^\.\/dist\/.*\.d\.ts$/);
        const sources = targets(manifest.exports).filter((t) => t.conditions.at(-1) === "source");
        for (const { target } of sources) {
          expect(target, target).toMatch(/^\.\/src\/.*\.ts$/);
          expect(existsSync(path.join(dir, target)), target).toBe(true);
        }
      });

      it("published, names only files its tarball ships: no 'source' condition, every target under `files`", () => {
        const published = publishedManifest(structuredClone(manifest));
        expect(JSON.stringify(published.exports)).not.toMatch(/"source"/);
        const named = [
          ...targets(published.exports).map((t) => t.target),
          published.main!,
          published.types!,
          ...Object.values(published.bin ?? {}),
        ];
        for (const target of named)
          expect(shipped(published.files!, target), `${target} is not under files: ${published.files!.join(", ")}`).toBe(true);
      });

      it("depends only on published packages of the workspace", () => {
        for (const deps of [manifest.dependencies ?? {}, manifest.peerDependencies ?? {}]) {
          for (const [dep, range] of Object.entries(deps))
            if (range.startsWith("workspace:")) expect(publicNames.has(dep), `${dep} is private`).toBe(true);
        }
      });
    });
  }
});
