// Flag parsing for every command: `--max_length 512`, `--max-length=512`, `--packing`, `--no-packing`.
// Underscore names are canonical; kebab-case spellings are accepted as aliases.
// Zero and empty strings are values, never "unset".

export type OptionType = "string" | "number" | "boolean" | "string[]";

export interface OptionSpec {
  name: string; // canonical, snake_case
  type: OptionType;
  description: string;
  default?: string | number | boolean | string[];
  aliases?: string[];
  choices?: readonly string[];
  /** Help lists options by group (options without one come first). */
  group?: string;
}

export interface PositionalSpec {
  name: string;
  description: string;
  required?: boolean;
  variadic?: boolean;
}

export type OptionValue = string | number | boolean | string[] | undefined;

export interface ParsedArgs {
  options: Record<string, OptionValue>;
  /** Names of the options the user actually gave (so defaults can be told apart from explicit values). */
  given: Set<string>;
  positionals: string[];
}

export class UsageError extends Error {
  override name = "UsageError";
}

const canonical = (flag: string): string => flag.replace(/-/g, "_");

export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[], positionals: readonly PositionalSpec[] = []): ParsedArgs {
  const byName = new Map<string, OptionSpec>();
  for (const spec of specs) {
    byName.set(canonical(spec.name), spec);
    for (const alias of spec.aliases ?? []) byName.set(canonical(alias), spec);
  }
  const options: Record<string, OptionValue> = {};
  const given = new Set<string>();
  const rest: string[] = [];
  for (const spec of specs) if (spec.default !== undefined) options[spec.name] = spec.default;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("--") || arg === "--") {
      rest.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    let flag = canonical(eq >= 0 ? arg.slice(2, eq) : arg.slice(2));
    let inline: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    let spec = byName.get(flag);
    let negated = false;
    if (!spec && flag.startsWith("no_")) {
      const positive = byName.get(flag.slice(3));
      if (positive?.type === "boolean") {
        spec = positive;
        negated = true;
      }
    }
    if (!spec) throw new UsageError(`unknown option --${flag.replace(/_/g, "-")}${suggest(flag, byName)}`);
    flag = spec.name;
    if (spec.type === "boolean") {
      let value = !negated;
      if (inline !== undefined) {
        if (!/^(true|false|1|0)$/i.test(inline)) throw new UsageError(`--${flag} takes true or false, got "${inline}"`);
        value = /^(true|1)$/i.test(inline) !== negated;
      }
      options[flag] = value;
      given.add(flag);
      continue;
    }
    if (inline === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith("--") && next.length > 2)) throw new UsageError(`--${flag} needs a value`);
      inline = next;
      i++;
    }
    options[flag] = convert(spec, inline, spec.type === "string[]" && given.has(flag) ? (options[flag] as string[]) : []);
    given.add(flag);
  }

  const required = positionals.filter((p) => p.required);
  if (rest.length < required.length) {
    throw new UsageError(`missing ${required.slice(rest.length).map((p) => p.name.toUpperCase()).join(", ")}`);
  }
  if (!positionals.some((p) => p.variadic) && rest.length > positionals.length) {
    throw new UsageError(`unexpected argument "${rest[positionals.length]}"`);
  }
  return { options, given, positionals: rest };
}

function convert(spec: OptionSpec, raw: string, previous: string[]): OptionValue {
  switch (spec.type) {
    case "number": {
      const value = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(value)) throw new UsageError(`--${spec.name} needs a number, got "${raw}"`);
      return value;
    }
    case "string[]":
      return [...previous, ...raw.split(",").filter((s) => s !== "")];
    default:
      if (spec.choices && !spec.choices.includes(raw)) {
        throw new UsageError(`--${spec.name} must be one of ${spec.choices.join(", ")}; got "${raw}"`);
      }
      return raw;
  }
}

function suggest(flag: string, known: Map<string, OptionSpec>): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of known.keys()) {
    const d = editDistance(flag, name);
    if (d < bestDistance) {
      bestDistance = d;
      best = name;
    }
  }
  return best ? ` (did you mean --${best}?)` : "";
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

export function formatHelp(command: { name: string; summary: string; options: readonly OptionSpec[]; positionals?: readonly PositionalSpec[] }): string {
  const pos = (command.positionals ?? []).map((p) => (p.required ? p.name.toUpperCase() : `[${p.name.toUpperCase()}]`) + (p.variadic ? "..." : ""));
  const lines = [`neural ${command.name} ${pos.join(" ")}${command.options.length ? " [options]" : ""}`.trimEnd(), "", command.summary, ""];
  for (const p of command.positionals ?? []) lines.push(`  ${p.name.toUpperCase().padEnd(28)} ${p.description}`);
  const groups = [...new Set(command.options.map((o) => o.group))];
  for (const group of [undefined, ...groups.filter((g) => g !== undefined)]) {
    if (group !== undefined) lines.push(...(lines.at(-1) === "" ? [] : [""]), `${group}:`);
    for (const o of command.options.filter((x) => x.group === group)) {
      const flag = `--${o.name}${o.type === "boolean" ? "" : o.type === "number" ? " N" : " VALUE"}`;
      const extra = [o.choices ? `one of ${o.choices.join("|")}` : "", o.default !== undefined && o.default !== false ? `default ${String(o.default)}` : ""].filter(Boolean).join("; ");
      lines.push(`  ${flag.padEnd(28)} ${o.description}${extra ? ` (${extra})` : ""}`);
    }
  }
  return lines.join("\n");
}
