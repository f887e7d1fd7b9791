// What looks like a secret. A candidate row that contains any of these is dropped, never redacted: the generator
// must not emit anything secret-looking, and a half-redacted key still teaches the model the wrong thing.

const PATTERNS: readonly [string, RegExp][] = [
  ["private key", /-----BEGIN [A-Z ]*PRIVATE KEY( BLOCK)?-----/],
  ["AWS access key id", /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b/],
  ["GitHub token", /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})\b/],
  ["GitLab token", /\bglpat-[A-Za-z0-9_-]{20,}\b/],
  ["Slack token", /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/],
  ["Slack webhook", /hooks\.slack\.com\/services\/[A-Za-z0-9/]+/],
  ["Google API key", /\bAIza[0-9A-Za-z_-]{35}\b/],
  ["Stripe key", /\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}\b/],
  ["OpenAI-style key", /\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}\b/],
  ["npm token", /\bnpm_[A-Za-z0-9]{36}\b/],
  ["JSON web token", /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/],
  ["credentials in a URL", /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@'"`]+:[^\s/@'"`]{3,}@[^\s'"`]+/i],
  [
    // A key that ends in a secret word (DB_PASSWORD, authToken, api_key; not "tokenizer" or "tokens") assigned a
    // literal of 8+ non-space characters.
    "secret assignment",
    /(?<![A-Za-z0-9])[A-Za-z0-9_-]*?(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?)["']?\s*(?::=|==|=|:)\s*(?:[a-z]+\()?\s*["'`](?!<)[^"'`\s]{8,}["'`]/i,
  ],
];

function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** The kind of the first secret-looking string in the text, or undefined. */
export function findSecret(text: string): string | undefined {
  for (const [kind, re] of PATTERNS) if (re.test(text)) return kind;
  // Long random-looking string literals: base64 or hex blobs with high entropy.
  for (const m of text.matchAll(/["'`]([A-Za-z0-9+/=_-]{32,})["'`]/g)) {
    const s = m[1]!;
    const mixed = /[a-z]/.test(s) && /[A-Z]/.test(s) && /[0-9]/.test(s);
    const hex = /^[0-9a-f]{32,}$/i.test(s);
    if ((mixed && entropy(s) > 4.2) || (hex && entropy(s) > 3.5 && s.length >= 40)) return "high-entropy string";
  }
  return undefined;
}

/** Files never read at all: environment files, keys, keystores, credential stores. */
export function isSecretFile(path: string): boolean {
  const name = path.split("/").pop()!.toLowerCase();
  return (
    /^\.env(\..*)?$/.test(name) ||
    /\.(pem|key|p12|pfx|jks|keystore|kdbx|asc|gpg)$/.test(name) ||
    /^(id_rsa|id_dsa|id_ecdsa|id_ed25519)(\.pub)?$/.test(name) ||
    /^(credentials|secrets?)(\.[a-z]+)?$/.test(name) ||
    name === ".npmrc" ||
    name === ".netrc" ||
    name === ".pypirc"
  );
}
