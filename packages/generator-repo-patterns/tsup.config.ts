import { generatorBuild } from "../generators/tsup.generator.js";

export default generatorBuild({
  grammars: [
    ["web-tree-sitter", "web-tree-sitter.wasm"],
    ["tree-sitter-python", "tree-sitter-python.wasm"],
    ["tree-sitter-go", "tree-sitter-go.wasm"],
    ["tree-sitter-javascript", "tree-sitter-javascript.wasm"],
    ["tree-sitter-java", "tree-sitter-java.wasm"],
    ["tree-sitter-typescript", "tree-sitter-typescript.wasm"],
    ["tree-sitter-typescript", "tree-sitter-tsx.wasm"],
  ],
});
