// A parser for protobuf text format (the syntax of Triton's config.pbtxt). It knows no schema:
// it yields a tree of fields in source order, and the typed readers (config-pbtxt.ts) decide
// what each field means. Without a schema a field seen once and a repeated field with one
// element look alike, so every field keeps a list of values.
import { Data } from "effect";

/** A scalar as written: the reader converts it by the field's declared type. */
export type TextScalar =
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "number"; readonly text: string }
  | { readonly kind: "identifier"; readonly name: string };

export type TextValue = TextScalar | TextMessage;

/** A message: its fields in the order they appear, each with every value given for it. */
export interface TextMessage {
  readonly kind: "message";
  readonly fields: ReadonlyMap<string, readonly TextValue[]>;
}

export class TextFormatError extends Data.TaggedError("TextFormatError")<{
  readonly message: string;
  readonly line: number;
  readonly column: number;
}> {}

type Token =
  | { readonly type: "ident"; readonly text: string; readonly line: number; readonly column: number }
  | { readonly type: "number"; readonly text: string; readonly line: number; readonly column: number }
  | { readonly type: "string"; readonly text: string; readonly line: number; readonly column: number }
  | { readonly type: "punct"; readonly text: string; readonly line: number; readonly column: number }
  | { readonly type: "eof"; readonly text: ""; readonly line: number; readonly column: number };

const SIMPLE_ESCAPES: Record<string, string> = {
  n: "\n", t: "\t", r: "\r", a: "\x07", b: "\b", f: "\f", v: "\v", "\\": "\\", "'": "'", '"': '"', "?": "?",
};

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const fail = (message: string): never => {
    throw new TextFormatError({ message, line, column: i - lineStart + 1 });
  };
  while (i < source.length) {
    const c = source[i];
    if (c === "\n") {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v") {
      i++;
      continue;
    }
    if (c === "#") {
      while (i < source.length && source[i] !== "\n") i++;
      continue;
    }
    const column = i - lineStart + 1;
    if ("{}[]<>:,;".includes(c)) {
      tokens.push({ type: "punct", text: c, line, column });
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const quote = c;
      i++;
      const bytes: number[] = [];
      const encoder = new TextEncoder();
      while (true) {
        if (i >= source.length || source[i] === "\n") fail("unterminated string");
        const ch = source[i];
        if (ch === quote) {
          i++;
          break;
        }
        if (ch === "\\") {
          const e = source[i + 1];
          if (e === undefined) fail("unterminated escape");
          if (e in SIMPLE_ESCAPES) {
            bytes.push(SIMPLE_ESCAPES[e].charCodeAt(0));
            i += 2;
          } else if (e === "x" || e === "X") {
            const hex = /^[0-9a-fA-F]{1,2}/.exec(source.slice(i + 2, i + 4));
            if (!hex) fail("bad \\x escape");
            bytes.push(parseInt(hex![0], 16));
            i += 2 + hex![0].length;
          } else if (/[0-7]/.test(e)) {
            const oct = /^[0-7]{1,3}/.exec(source.slice(i + 1, i + 4))![0];
            bytes.push(parseInt(oct, 8) & 0xff);
            i += 1 + oct.length;
          } else {
            fail(`unknown escape \\${e}`);
          }
          continue;
        }
        // Keep multi-byte characters intact: strings are bytes in UTF-8 on the wire.
        const cp = source.codePointAt(i)!;
        const text = String.fromCodePoint(cp);
        for (const b of encoder.encode(text)) bytes.push(b);
        i += text.length;
      }
      tokens.push({ type: "string", text: new TextDecoder().decode(new Uint8Array(bytes)), line, column });
      continue;
    }
    const number = /^-?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fF]?|inf(?:inity)?|nan)/i.exec(
      source.slice(i),
    );
    if (number && (c === "-" || c === "." || /\d/.test(c))) {
      tokens.push({ type: "number", text: number[0], line, column });
      i += number[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(source.slice(i));
    if (ident) {
      tokens.push({ type: "ident", text: ident[0], line, column });
      i += ident[0].length;
      continue;
    }
    if (c === "-") {
      // "-inf" and friends are handled by the number pattern; a lone "-" is an error.
      fail("unexpected '-'");
    }
    fail(`unexpected character ${JSON.stringify(c)}`);
  }
  tokens.push({ type: "eof", text: "", line, column: i - lineStart + 1 });
  return tokens;
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.pos];
  }
  private next(): Token {
    return this.tokens[this.pos++];
  }
  private fail(message: string, token: Token = this.peek()): never {
    throw new TextFormatError({ message, line: token.line, column: token.column });
  }
  private isPunct(text: string): boolean {
    const t = this.peek();
    return t.type === "punct" && t.text === text;
  }
  private expectPunct(text: string): void {
    const t = this.next();
    if (t.type !== "punct" || t.text !== text) this.fail(`expected '${text}' but found ${describe(t)}`, t);
  }

  parseDocument(): TextMessage {
    const message = this.parseFields(undefined);
    if (this.peek().type !== "eof") this.fail(`unexpected ${describe(this.peek())}`);
    return message;
  }

  private parseFields(close: "}" | ">" | undefined): TextMessage {
    const fields = new Map<string, TextValue[]>();
    while (true) {
      const t = this.peek();
      if (t.type === "eof") {
        if (close !== undefined) this.fail(`expected '${close}' before end of input`);
        break;
      }
      if (close !== undefined && t.type === "punct" && t.text === close) break;
      if (t.type !== "ident") this.fail(`expected a field name but found ${describe(t)}`);
      this.next();
      const values = this.parseFieldValue(t.text);
      const list = fields.get(t.text) ?? [];
      list.push(...values);
      fields.set(t.text, list);
      if (this.isPunct(",") || this.isPunct(";")) this.next();
    }
    return { kind: "message", fields };
  }

  private parseFieldValue(name: string): TextValue[] {
    if (this.isPunct(":")) {
      this.next();
      if (this.isPunct("[")) return this.parseList(name);
      if (this.isPunct("{") || this.isPunct("<")) return [this.parseMessage()];
      return [this.parseScalar(name)];
    }
    // Message fields may omit the colon; scalar fields may not.
    if (this.isPunct("{") || this.isPunct("<")) return [this.parseMessage()];
    if (this.isPunct("[")) return this.parseList(name);
    return this.fail(`expected ':' or '{' after field '${name}'`);
  }

  private parseList(name: string): TextValue[] {
    this.expectPunct("[");
    const values: TextValue[] = [];
    if (this.isPunct("]")) {
      this.next();
      return values;
    }
    while (true) {
      values.push(this.isPunct("{") || this.isPunct("<") ? this.parseMessage() : this.parseScalar(name));
      if (this.isPunct(",")) {
        this.next();
        continue;
      }
      this.expectPunct("]");
      return values;
    }
  }

  private parseMessage(): TextMessage {
    const open = this.next();
    const close = open.text === "{" ? "}" : ">";
    const message = this.parseFields(close);
    this.expectPunct(close);
    return message;
  }

  private parseScalar(name: string): TextScalar {
    const t = this.next();
    switch (t.type) {
      case "string": {
        // Adjacent string literals concatenate, as in C.
        let value = t.text;
        while (this.peek().type === "string") value += this.next().text;
        return { kind: "string", value };
      }
      case "number":
        return { kind: "number", text: t.text };
      case "ident":
        return { kind: "identifier", name: t.text };
      default:
        return this.fail(`expected a value for field '${name}' but found ${describe(t)}`, t);
    }
  }
}

function describe(t: Token): string {
  return t.type === "eof" ? "end of input" : `'${t.text}'`;
}

/** Parses protobuf text format; throws TextFormatError with the line and column of the fault. */
export function parseTextFormat(source: string): TextMessage {
  return new Parser(tokenize(source)).parseDocument();
}
