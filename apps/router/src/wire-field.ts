// Reads one string field from an encoded protobuf message without decoding the rest, so the
// gRPC proxy can route a ModelInfer by its model_name and forward the bytes untouched:
// tensors in raw_input_contents are skipped by their length, never copied or parsed.

export class WireFormatError extends Error {
  override readonly name = "WireFormatError";
}

function varint(buf: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = at; i < buf.length && i < at + 10; i++) {
    const b = buf[i];
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return { value, next: i + 1 };
    scale *= 128;
  }
  throw new WireFormatError(`truncated varint at byte ${at}`);
}

/**
 * The value of string field `field` (the last occurrence wins, as in proto3 parsing), or
 * undefined when the message does not set it. Throws WireFormatError on malformed bytes.
 */
export function readStringField(buf: Uint8Array, field: number): string | undefined {
  let found: string | undefined;
  let at = 0;
  while (at < buf.length) {
    const tag = varint(buf, at);
    at = tag.next;
    const number = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    switch (wireType) {
      case 0:
        at = varint(buf, at).next;
        break;
      case 1:
        at += 8;
        break;
      case 5:
        at += 4;
        break;
      case 2: {
        const length = varint(buf, at);
        const end = length.next + length.value;
        if (end > buf.length) throw new WireFormatError(`field ${number} runs past the end of the message`);
        if (number === field) found = Buffer.from(buf.buffer, buf.byteOffset + length.next, length.value).toString("utf8");
        at = end;
        break;
      }
      default:
        throw new WireFormatError(`unsupported wire type ${wireType} for field ${number}`);
    }
    if (at > buf.length) throw new WireFormatError(`field ${number} runs past the end of the message`);
  }
  return found;
}
