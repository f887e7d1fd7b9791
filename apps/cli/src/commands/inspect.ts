import { FILE_TYPES, openGguf, type GgufValue } from "@neural/gguf-writer";
import { EXIT, type Command } from "../command.js";

/** A metadata value as plain JSON (bigints as strings, long arrays summarised unless `full`). */
function jsonValue(v: GgufValue, full: boolean): unknown {
  if (v.type === "ARRAY") {
    const items = Array.from(v.value as ArrayLike<unknown>, (x) => (typeof x === "bigint" ? x.toString() : x));
    if (full || items.length <= 16) return items;
    return { type: v.itemType, length: items.length, first: items.slice(0, 8) };
  }
  return typeof v.value === "bigint" ? v.value.toString() : v.value;
}

/** Names for the metadata that holds an enum: general.file_type (llama_ftype). Tensor types are named by the reader. */
const FILE_TYPE_NAMES = new Map<number, string>(Object.entries(FILE_TYPES).map(([name, id]) => [id, name]));
const ENUM_NAMES: Record<string, ReadonlyMap<number, string>> = { "general.file_type": FILE_TYPE_NAMES };

/** The enum name of a metadata value (`MOSTLY_Q4_K_M` for general.file_type 15), when the key holds one. */
export function enumName(key: string, v: GgufValue): string | undefined {
  const names = ENUM_NAMES[key];
  if (!names || typeof v.value !== "number") return undefined;
  return names.get(v.value) ?? "unknown";
}

function textValue(v: GgufValue): string {
  if (v.type === "ARRAY") {
    const items = Array.from(v.value as ArrayLike<unknown>);
    const shown = items.slice(0, 6).map((x) => (typeof x === "string" ? JSON.stringify(x) : String(x)));
    return `[${v.itemType.toLowerCase()} × ${items.length}] ${shown.join(", ")}${items.length > 6 ? ", ..." : ""}`;
  }
  if (v.type === "STRING") return JSON.stringify(v.value.length > 120 ? `${v.value.slice(0, 117)}...` : v.value);
  return String(v.value);
}

export const inspect: Command = {
  name: "inspect",
  positionals: [{ name: "file", description: "a .gguf file", required: true }],
  options: [
    { name: "json", type: "boolean", description: "print JSON: {metadata: {key: {type, value}}, tensors: [...]}" },
    { name: "full", type: "boolean", description: "with --json, print long arrays (token lists) in full" },
  ],
  async run(args, io) {
    const file = args.positionals[0]!;
    const r = await openGguf(file);
    try {
      const g = r.gguf;
      if (args.options.json) {
        const metadata: Record<string, unknown> = {};
        for (const [k, v] of g.metadata) {
          const name = enumName(k, v);
          metadata[k] = { type: v.type === "ARRAY" ? `ARRAY<${v.itemType}>` : v.type, value: jsonValue(v, Boolean(args.options.full)), ...(name ? { name } : {}) };
        }
        io.out(
          JSON.stringify(
            {
              file,
              version: g.version,
              alignment: g.alignment,
              size: g.size,
              metadata,
              tensors: g.tensors.map((t) => ({ name: t.name, type: t.type, shape: t.ne, bytes: t.bytes, offset: t.offset })),
            },
            null,
            2,
          ),
        );
        return EXIT.ok;
      }
      io.out(`${file}: GGUF v${g.version}, ${g.metadata.size} metadata keys, ${g.tensors.length} tensors, ${(g.size / 1e6).toFixed(1)} MB`);
      io.out("");
      const width = Math.max(...[...g.metadata.keys()].map((k) => k.length), 10);
      for (const [k, v] of g.metadata) {
        const name = enumName(k, v);
        io.out(`  ${k.padEnd(width)}  ${(v.type === "ARRAY" ? "arr" : v.type.toLowerCase()).padEnd(6)} ${name ? `${name} (${textValue(v)})` : textValue(v)}`);
      }
      io.out("");
      const nameWidth = Math.max(...g.tensors.map((t) => t.name.length), 4);
      io.out(`  ${"name".padEnd(nameWidth)}  ${"type".padEnd(5)}  ${"shape".padEnd(16)}  bytes`);
      const byType = new Map<string, { n: number; bytes: number }>();
      for (const t of g.tensors) {
        io.out(`  ${t.name.padEnd(nameWidth)}  ${t.type.padEnd(5)}  ${`[${t.ne.join(", ")}]`.padEnd(16)}  ${t.bytes}`);
        const s = byType.get(t.type) ?? { n: 0, bytes: 0 };
        s.n++;
        s.bytes += t.bytes;
        byType.set(t.type, s);
      }
      io.out("");
      io.out(`  ${[...byType].map(([t, s]) => `${t}: ${s.n} tensors, ${(s.bytes / 1e6).toFixed(2)} MB`).join("; ")}`);
      return EXIT.ok;
    } finally {
      await r.close();
    }
  },
};
