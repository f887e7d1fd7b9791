// Workspace packages resolve to their TypeScript sources in tests (the "source" export condition),
// so `pnpm test` needs no build first.
export const sourceConditions = {
  resolve: { conditions: ["source", "module", "node", "import", "default"] },
  ssr: { resolve: { conditions: ["source", "module", "node", "import", "default"], externalConditions: ["source"] } },
};
