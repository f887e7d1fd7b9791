// pnpm hooks. beforePacking: the manifest that `pnpm pack`/`pnpm publish` put in a tarball drops the "source" export
// condition. In the workspace, "source" points at src/*.ts so that tests, typechecks and `pnpm neural` run the
// TypeScript sources without a build; a tarball ships dist/ only, and a consumer's `node --conditions=source` must
// not resolve to files that are not there. (docs/packaging.md has the whole rule; scripts/packaging.spec.ts checks it.)

/** `exports` without its "source" conditions, at any depth. */
function withoutSourceCondition(exports) {
  if (exports === null || typeof exports !== "object" || Array.isArray(exports)) return exports;
  return Object.fromEntries(
    Object.entries(exports)
      .filter(([key]) => key !== "source")
      .map(([key, value]) => [key, withoutSourceCondition(value)]),
  );
}

function publishedManifest(pkg) {
  if (pkg.exports !== undefined) pkg.exports = withoutSourceCondition(pkg.exports);
  return pkg;
}

module.exports = { hooks: { beforePacking: publishedManifest }, publishedManifest };
