// .gitignore matching, following git's rules: comments and blank lines, `!` negation, a trailing `/` for
// directories only, patterns with a slash anchored to the .gitignore's folder, `*` `?` `[...]` within a path
// segment, `**` across segments, last match wins, and nothing inside an ignored directory can be re-included.
// The tests compare it with git itself (`git ls-files --others --exclude-standard`).

interface Rule {
  negated: boolean;
  dirOnly: boolean;
  regex: RegExp;
}

export interface IgnoreFile {
  /** Folder of the .gitignore, relative to the repository root, "" for the root, no trailing slash. */
  base: string;
  rules: Rule[];
}

function globToRegex(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") {
      if (glob[i + 1] === "*") {
        const before = i === 0 || glob[i - 1] === "/";
        const after = glob[i + 2] === "/" || i + 2 === glob.length;
        if (before && after) {
          if (glob[i + 2] === "/") {
            out += "(?:.*/)?";
            i += 2;
          } else {
            out += ".*";
            i += 1;
          }
          continue;
        }
      }
      out += "[^/]*";
    } else if (c === "?") out += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) out += "\\[";
      else {
        let body = glob.slice(i + 1, end);
        if (body.startsWith("!")) body = "^" + body.slice(1);
        out += `[${body.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else if (c === "\\" && i + 1 < glob.length) {
      out += glob[i + 1]!.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
      i++;
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return out;
}

export function parseGitignore(text: string, base: string): IgnoreFile {
  const rules: Rule[] = [];
  for (let line of text.split(/\r?\n/)) {
    if (line === "" || line.startsWith("#")) continue;
    line = line.replace(/(?<!\\)\s+$/, "");
    if (line === "") continue;
    let negated = false;
    if (line.startsWith("!")) {
      negated = true;
      line = line.slice(1);
    } else if (line.startsWith("\\!") || line.startsWith("\\#")) line = line.slice(1);
    let dirOnly = false;
    if (line.endsWith("/")) {
      dirOnly = true;
      line = line.slice(0, -1);
    }
    if (line === "") continue;
    const anchored = line.includes("/");
    if (line.startsWith("/")) line = line.slice(1);
    const body = globToRegex(line);
    rules.push({ negated, dirOnly, regex: new RegExp(anchored ? `^${body}$` : `^(?:.*/)?${body}$`) });
  }
  return { base, rules };
}

/**
 * Whether a path (relative to the repository root, "/"-separated) is ignored by the .gitignore files that apply
 * to it, given in order from the root down. The caller must not descend into ignored directories.
 */
export function isIgnored(path: string, isDir: boolean, files: readonly IgnoreFile[]): boolean {
  let ignored = false;
  for (const file of files) {
    if (file.base && !path.startsWith(file.base + "/")) continue;
    const rel = file.base ? path.slice(file.base.length + 1) : path;
    for (const rule of file.rules) {
      if (rule.dirOnly && !isDir) continue;
      if (rule.regex.test(rel)) ignored = !rule.negated;
    }
  }
  return ignored;
}
