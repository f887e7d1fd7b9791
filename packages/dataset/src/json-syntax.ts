// V8's JSON.parse messages do not always carry a position ("Unexpected token '}', ... is not valid JSON").
// This scanner finds the offset of the first syntax error so that the report can name the column.

/** Returns the 0-based offset of the first JSON syntax error in `text`, and what was expected there. */
export function locateJsonError(text: string): { offset: number; message: string } {
  let i = 0;
  const n = text.length;
  const fail = (message: string): never => {
    throw { offset: i, message };
  };
  const ws = () => {
    while (i < n && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
  };
  const literal = (word: string) => {
    for (let k = 0; k < word.length; k++, i++) if (text[i] !== word[k]) fail(`invalid literal, expected "${word}"`);
  };
  const string = () => {
    i++; // opening quote
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail("unescaped control character in string");
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            i += 2;
            fail("invalid \\u escape");
          }
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) {
          i++;
          fail("invalid escape in string");
        }
        i += 2;
        continue;
      }
      i++;
    }
    fail("unterminated string");
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) fail("invalid number");
    i += m![0].length;
  };
  const scalar = (): void => {
    const c = text[i];
    if (c === '"') return string();
    if (c === "t") return literal("true");
    if (c === "f") return literal("false");
    if (c === "n") return literal("null");
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return number();
    fail(
      c === undefined ? "unexpected end of input" : `unexpected character ${JSON.stringify(String.fromCodePoint(text.codePointAt(i)!))}`,
    );
  };
  const key = (): void => {
    ws();
    if (text[i] !== '"') fail("expected a property name in double quotes");
    string();
    ws();
    if (text[i] !== ":") fail("expected ':' after property name");
    i++;
  };
  // Iterative, so that no nesting depth can overflow the call stack: `open` holds the containers entered.
  const value = (): void => {
    const open: string[] = [];
    for (;;) {
      ws();
      const c = text[i];
      if (c === "{" || c === "[") {
        i++;
        ws();
        if (text[i] === (c === "{" ? "}" : "]")) i++;
        else {
          open.push(c);
          if (c === "{") key();
          continue;
        }
      } else scalar();
      // A value ended: close containers until one goes on with a comma.
      for (;;) {
        const container = open[open.length - 1];
        if (container === undefined) return;
        ws();
        if (text[i] === ",") {
          i++;
          if (container === "{") key();
          break;
        }
        if (text[i] === (container === "{" ? "}" : "]")) {
          i++;
          open.pop();
          continue;
        }
        fail(container === "{" ? "expected ',' or '}' after property value" : "expected ',' or ']' after array element");
      }
    }
  };
  try {
    value();
    ws();
    if (i < n) fail("unexpected text after the JSON value");
    return { offset: -1, message: "" };
  } catch (error) {
    if (typeof error === "object" && error !== null && "offset" in error) return error as { offset: number; message: string };
    throw error;
  }
}

/** Converts a 0-based offset in `text` to a 1-based line and column (columns count UTF-16 code units, like editors). */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text[k] === "\n") {
      line++;
      lineStart = k + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
