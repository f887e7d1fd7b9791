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
  /** For an option without a default: what leaving it out means ("required", "all cores"), shown as its default. */
  unset?: string;
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
    if (!spec) {
      const near = closest(flag, [...byName.keys()]);
      throw new UsageError(`unknown option --${flag.replace(/_/g, "-")}${near ? ` (did you mean --${near}?)` : ""}`);
    }
    flag = spec.name;
    if (spec.type === "boolean") {
      let value = !negated;
      // `--flag false` as well as `--flag=false`: a following true/false is the flag's value, never a positional.
      if (inline === undefined && /^(true|false)$/i.test(argv[i + 1] ?? "")) inline = argv[++i];
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
    throw new UsageError(
      `missing ${required
        .slice(rest.length)
        .map((p) => p.name.toUpperCase())
        .join(", ")}`,
    );
  }
  if (!positionals.some((p) => p.variadic) && rest.length > positionals.length) {
    throw new UsageError(`unexpected argument "${rest[positionals.length]}"`);
  }
  return { options, given, positionals: rest };
}

/**
 * An option's number, checked before any work starts (a bad value is a usage error, exit 2): `integer`, at least
 * `min`, above `above`, below `below`. An option that was not given and has no default passes.
 */
export function checkNumber(
  args: ParsedArgs,
  name: string,
  rule: { integer?: boolean; min?: number; above?: number; below?: number },
): number | undefined {
  const value = args.options[name];
  if (value === undefined) return undefined;
  const v = value as number;
  const ok =
    (!rule.integer || Number.isInteger(v)) &&
    !(v < (rule.min ?? -Infinity)) &&
    (rule.above === undefined || v > rule.above) &&
    (rule.below === undefined || v < rule.below);
  if (!ok) {
    const wanted = [
      rule.integer ? "a whole number" : "",
      rule.min !== undefined ? `≥ ${rule.min}` : "",
      rule.above !== undefined ? `above ${rule.above}` : "",
      rule.below !== undefined ? `below ${rule.below}` : "",
    ];
    throw new UsageError(`--${name} must be ${wanted.filter(Boolean).join(", ")}; got ${v}`);
  }
  return v;
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
        const near = closest(raw, spec.choices);
        throw new UsageError(
          `--${spec.name} must be one of ${spec.choices.join(", ")}; got "${raw}"${near ? ` (did you mean ${near}?)` : ""}`,
        );
      }
      return raw;
  }
}

/**
 * The candidate nearest to a mistyped `value` (case-insensitive edit distance at most a third of its length, at least
 * 1 and at most 3), or undefined when none is that near.
 */
export function closest(value: string, candidates: readonly string[]): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.floor(value.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const d = editDistance(value.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best;
}

/** Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`: "trian" is one from "train". */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The default a flag shows in help: its value, what leaving it out means, or false for a switch. */
export function helpDefault(o: OptionSpec): string | undefined {
  if (o.default !== undefined) return Array.isArray(o.default) ? o.default.join(",") : String(o.default);
  if (o.unset !== undefined) return o.unset;
  return o.type === "boolean" ? "false" : undefined;
}

/** Help for a command: its usage, then each flag with its sentence, choices and default, by group, wrapped to `width`. */
export function formatHelp(
  command: { name: string; summary: string; options: readonly OptionSpec[]; positionals?: readonly PositionalSpec[] },
  width = Math.max(60, Math.min(process.stdout.columns || 100, 160)),
): string {
  const column = 31;
  const entry = (label: string, text: string): string[] => {
    const lines: string[] = [];
    let line = `  ${label}`.padEnd(column - 1);
    if (line.length > column - 1) {
      lines.push(line);
      line = "".padEnd(column - 1);
    }
    for (const word of text.split(/\s+/).filter(Boolean)) {
      if (line.length + 1 + word.length > width && line.trim() !== "" && line.length > column - 1) {
        lines.push(line);
        line = "".padEnd(column - 1);
      }
      line += ` ${word}`;
    }
    lines.push(line);
    return lines;
  };
  const pos = (command.positionals ?? []).map(
    (p) => (p.required ? p.name.toUpperCase() : `[${p.name.toUpperCase()}]`) + (p.variadic ? "..." : ""),
  );
  const lines = [`neural ${command.name} ${pos.join(" ")}${command.options.length ? " [options]" : ""}`.trimEnd(), "", command.summary, ""];
  for (const p of command.positionals ?? []) lines.push(...entry(p.name.toUpperCase(), p.description));
  const groups = [...new Set(command.options.map((o) => o.group))];
  for (const group of [undefined, ...groups.filter((g) => g !== undefined)]) {
    if (group !== undefined) lines.push(...(lines.at(-1) === "" ? [] : [""]), `${group}:`);
    for (const o of command.options.filter((x) => x.group === group)) {
      const flag = `--${o.name}${o.type === "boolean" ? "" : o.type === "number" ? " N" : " VALUE"}`;
      const shown = helpDefault(o);
      const extra = [
        o.choices ? `one of ${o.choices.join(", ")}` : "",
        shown !== undefined ? (o.unset === "required" ? "required" : `default ${shown}`) : "",
      ]
        .filter(Boolean)
        .join("; ");
      lines.push(...entry(flag, `${o.description}${extra ? ` (${extra})` : ""}`));
    }
  }
  return lines.join("\n");
}
