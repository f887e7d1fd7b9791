// Documentation sections: each markdown heading with the text up to the next heading (code fences respected).

export interface DocSection {
  path: string;
  heading: string;
  body: string;
}

export function markdownSections(text: string, path: string, maxChars: number): DocSection[] {
  const out: DocSection[] = [];
  let heading: string | undefined;
  let body: string[] = [];
  let fence: string | undefined;
  const flush = () => {
    const content = body.join("\n").trim();
    if (heading && content.length >= 80 && content.length <= maxChars && /[a-z]{3}/i.test(content))
      out.push({ path, heading, body: content });
  };
  for (const line of text.split(/\r?\n/)) {
    const f = /^\s*(```|~~~)/.exec(line);
    if (f) fence = fence === f[1] ? undefined : (fence ?? f[1]);
    const h = !fence && !f ? /^(#{1,6})\s+(.+?)\s*#*\s*$/.exec(line) : null;
    if (h) {
      flush();
      heading = h[2]!.replace(/`/g, "");
      body = [];
    } else body.push(line);
  }
  flush();
  return out;
}
