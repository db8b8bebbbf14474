// Tensors on the wire and in memory. A HostTensor is the protocol-neutral form the request
// path works on; this file converts it from and to the three encodings clients use:
// JSON `data` arrays (HTTP), binary tensor data (HTTP binary extension and gRPC raw contents,
// both little-endian, row-major, BYTES elements prefixed by a 4-byte little-endian length),
// and gRPC's typed InferTensorContents.
import type { InferTensorContents } from "@berth/api/kserve";
import { elementSize, type KServeDatatype } from "./datatypes.js";
import { invalidArgument } from "./errors.js";

export type NumericData =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | BigUint64Array | BigInt64Array | Float32Array | Float64Array;

/** Element values: a typed array per numeric type (BOOL as 0/1 bytes, FP16 as raw 16-bit words), bytes per BYTES element. */
export type TensorData = NumericData | Uint8Array[];

export interface HostTensor {
  readonly name: string;
  readonly datatype: KServeDatatype;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

function allocate(datatype: KServeDatatype, n: number): NumericData {
  switch (datatype) {
    case "BOOL":
    case "UINT8":
      return new Uint8Array(n);
    case "INT8":
      return new Int8Array(n);
    case "UINT16":
    case "FP16":
      return new Uint16Array(n);
    case "INT16":
      return new Int16Array(n);
    case "UINT32":
      return new Uint32Array(n);
    case "INT32":
      return new Int32Array(n);
    case "UINT64":
      return new BigUint64Array(n);
    case "INT64":
      return new BigInt64Array(n);
    case "FP32":
      return new Float32Array(n);
    case "FP64":
      return new Float64Array(n);
    case "BYTES":
      throw new Error("BYTES tensors have no fixed-size storage");
  }
}

/** Decodes binary tensor data for a tensor of `shape`; the byte size must match exactly. */
export function tensorFromBytes(name: string, datatype: KServeDatatype, shape: readonly number[], bytes: Uint8Array): HostTensor {
  const n = elementCount(shape);
  const size = elementSize(datatype);
  if (size === undefined) {
    const elements: Uint8Array[] = [];
    let offset = 0;
    while (offset < bytes.length) {
      if (offset + 4 > bytes.length) throw invalidArgument(`BYTES input '${name}' has a truncated length prefix`);
      const length = new DataView(bytes.buffer, bytes.byteOffset + offset, 4).getUint32(0, true);
      offset += 4;
      if (offset + length > bytes.length) throw invalidArgument(`BYTES input '${name}' has an element longer than its data`);
      elements.push(bytes.slice(offset, offset + length));
      offset += length;
    }
    if (elements.length !== n) {
      throw invalidArgument(`unexpected number of string elements ${elements.length} for inference input '${name}', expecting ${n}`);
    }
    return { name, datatype, shape, data: elements };
  }
  if (bytes.length !== n * size) {
    throw invalidArgument(`unexpected total byte size ${bytes.length} for input '${name}', expecting ${n * size}`);
  }
  const data = allocate(datatype, n);
  // Copy rather than view: the source may sit at an offset the typed array cannot align to.
  new Uint8Array(data.buffer).set(bytes);
  return { name, datatype, shape, data };
}

/** Encodes a tensor as binary tensor data. */
export function tensorToBytes(t: HostTensor): Uint8Array {
  if (Array.isArray(t.data)) {
    const elements = t.data as Uint8Array[];
    const out = new Uint8Array(elements.reduce((n, e) => n + 4 + e.length, 0));
    const view = new DataView(out.buffer);
    let offset = 0;
    for (const e of elements) {
      view.setUint32(offset, e.length, true);
      out.set(e, offset + 4);
      offset += 4 + e.length;
    }
    return out;
  }
  const data = t.data as NumericData;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function flatten(value: unknown, out: unknown[]): void {
  if (Array.isArray(value)) for (const v of value) flatten(v, out);
  else out.push(value);
}

const INTEGER_RANGES: Partial<Record<KServeDatatype, readonly [number, number]>> = {
  UINT8: [0, 0xff], INT8: [-0x80, 0x7f], UINT16: [0, 0xffff], INT16: [-0x8000, 0x7fff],
  UINT32: [0, 0xffffffff], INT32: [-0x80000000, 0x7fffffff],
};

/** Decodes a JSON `data` array (flat or nested, row-major) for a tensor of `shape`. */
export function tensorFromJson(name: string, datatype: KServeDatatype, shape: readonly number[], json: unknown): HostTensor {
  const values: unknown[] = [];
  flatten(json, values);
  const n = elementCount(shape);
  if (values.length !== n) {
    throw invalidArgument(`unexpected number of elements ${values.length} for inference input '${name}', expecting ${n}`);
  }
  const bad = (i: number): never => {
    throw invalidArgument(`unable to parse 'data' of input '${name}': element ${i} (${JSON.stringify(values[i])}) is not a valid ${datatype}`);
  };
  if (datatype === "BYTES") {
    const encoder = new TextEncoder();
    return { name, datatype, shape, data: values.map((v, i) => (typeof v === "string" ? encoder.encode(v) : bad(i))) };
  }
  if (datatype === "FP16") throw invalidArgument(`FP16 input '${name}' must be sent as binary data`);
  const data = allocate(datatype, n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (datatype === "BOOL") {
      if (typeof v !== "boolean") bad(i);
      (data as Uint8Array)[i] = v ? 1 : 0;
    } else if (datatype === "INT64" || datatype === "UINT64") {
      if (typeof v !== "number" || !Number.isInteger(v)) bad(i);
      const big = BigInt(v as number);
      if (datatype === "UINT64" && big < 0n) bad(i);
      (data as BigInt64Array | BigUint64Array)[i] = big;
    } else if (datatype === "FP32" || datatype === "FP64") {
      if (typeof v !== "number") bad(i);
      (data as Float32Array)[i] = v as number;
    } else {
      const [lo, hi] = INTEGER_RANGES[datatype]!;
      if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) bad(i);
      (data as Int32Array)[i] = v as number;
    }
  }
  return { name, datatype, shape, data };
}

/** Marks 64-bit integers so they can be written without losing digits (JSON.stringify cannot). */
const BIGINT_MARK = "\u0000bigint:";

/** A tensor's values for a JSON `data` array: numbers, booleans, strings (BYTES as UTF-8). */
export function tensorToJsonData(t: HostTensor): unknown[] {
  if (t.datatype === "BYTES") {
    const decoder = new TextDecoder();
    return (t.data as Uint8Array[]).map((e) => decoder.decode(e));
  }
  if (t.datatype === "BOOL") return Array.from(t.data as Uint8Array, (v) => v !== 0);
  if (t.datatype === "INT64" || t.datatype === "UINT64") {
    return Array.from(t.data as BigInt64Array, (v) =>
      v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : `${BIGINT_MARK}${v}`,
    );
  }
  return Array.from(t.data as Float32Array);
}

/** JSON.stringify that writes 64-bit integers from tensorToJsonData as exact numbers. */
export function stringifyWithInt64(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0000bigint:(-?\d+)"/g, "$1");
}

/** Decodes gRPC InferTensorContents: the repeated field that matches the datatype. */
export function tensorFromContents(name: string, datatype: KServeDatatype, shape: readonly number[], c: InferTensorContents): HostTensor {
  const pick = (): readonly unknown[] | undefined => {
    switch (datatype) {
      case "BOOL":
        return c.bool_contents;
      case "INT8":
      case "INT16":
      case "INT32":
        return c.int_contents;
      case "INT64":
        return c.int64_contents;
      case "UINT8":
      case "UINT16":
      case "UINT32":
        return c.uint_contents;
      case "UINT64":
        return c.uint64_contents;
      case "FP32":
        return c.fp32_contents;
      case "FP64":
        return c.fp64_contents;
      case "BYTES":
        return c.bytes_contents;
      case "FP16":
        return undefined;
    }
  };
  const values = pick();
  if (values === undefined) throw invalidArgument(`input '${name}' of type ${datatype} cannot be sent as typed contents; use raw_input_contents`);
  const n = elementCount(shape);
  if (values.length !== n) {
    throw invalidArgument(`unexpected number of elements ${values.length} for inference input '${name}', expecting ${n}`);
  }
  if (datatype === "BYTES") return { name, datatype, shape, data: values.map((v) => new Uint8Array(v as Uint8Array)) };
  const data = allocate(datatype, n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[i] = BigInt(v as string | number);
    else (data as Uint8Array)[i] = typeof v === "boolean" ? (v ? 1 : 0) : (v as number);
  }
  return { name, datatype, shape, data };
}
