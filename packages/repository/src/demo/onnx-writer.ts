// Encodes ONNX ModelProto bytes from a small graph description, so the project makes its own
// test models (no Python, no download). Field numbers are those of onnx/onnx.proto; only the
// fields a graph of plain operators with constant weights needs are written.
import { ProtobufWriter } from "./protobuf-writer.js";

/** TensorProto.DataType values of onnx.proto. */
export const OnnxDataType = {
  FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13,
} as const;
export type OnnxDataType = (typeof OnnxDataType)[keyof typeof OnnxDataType];

/** A graph input or output: a dimension is a fixed size or a symbolic name (variable size). */
export interface OnnxValueInfo {
  readonly name: string;
  readonly elemType: OnnxDataType;
  readonly shape: readonly (number | string)[];
}

/** A constant tensor; `rawData` is little-endian, row-major, as ONNX's raw_data. */
export interface OnnxInitializer {
  readonly name: string;
  readonly dataType: OnnxDataType;
  readonly dims: readonly number[];
  readonly rawData: Uint8Array;
}

export type OnnxAttribute =
  | { readonly name: string; readonly kind: "int"; readonly value: number }
  | { readonly name: string; readonly kind: "float"; readonly value: number }
  | { readonly name: string; readonly kind: "ints"; readonly value: readonly number[] };

export interface OnnxNode {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly attributes?: readonly OnnxAttribute[];
}

export interface OnnxGraph {
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  readonly initializers?: readonly OnnxInitializer[];
}

export interface OnnxModelOptions {
  /** ONNX IR version; 8 is read by every ONNX Runtime since 1.10. */
  readonly irVersion?: number;
  /** Opset of the default domain. */
  readonly opsetVersion?: number;
  readonly producerName?: string;
}

// AttributeProto.AttributeType
const ATTRIBUTE_FLOAT = 1;
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_INTS = 7;

function writeValueInfo(w: ProtobufWriter, v: OnnxValueInfo): void {
  w.string(1, v.name); // ValueInfoProto.name
  w.message(2, (type) => // ValueInfoProto.type: TypeProto
    type.message(1, (tensor) => { // TypeProto.tensor_type
      tensor.int(1, v.elemType); // TypeProto.Tensor.elem_type
      tensor.message(2, (shape) => { // TypeProto.Tensor.shape: TensorShapeProto
        for (const d of v.shape) {
          shape.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d))); // dim_value / dim_param
        }
      });
    }),
  );
}

function writeInitializer(w: ProtobufWriter, t: OnnxInitializer): void {
  for (const d of t.dims) w.int(1, d); // TensorProto.dims
  w.int(2, t.dataType); // TensorProto.data_type
  w.string(8, t.name); // TensorProto.name
  w.bytes(9, t.rawData); // TensorProto.raw_data
}

function writeAttribute(w: ProtobufWriter, a: OnnxAttribute): void {
  w.string(1, a.name); // AttributeProto.name
  switch (a.kind) {
    case "float":
      w.float(2, a.value); // AttributeProto.f
      w.int(20, ATTRIBUTE_FLOAT); // AttributeProto.type
      break;
    case "int":
      w.int(3, a.value); // AttributeProto.i
      w.int(20, ATTRIBUTE_INT); // AttributeProto.type
      break;
    case "ints":
      for (const v of a.value) w.int(8, v); // AttributeProto.ints
      w.int(20, ATTRIBUTE_INTS);
      break;
  }
}

function writeNode(w: ProtobufWriter, n: OnnxNode): void {
  for (const i of n.inputs) w.string(1, i); // NodeProto.input
  for (const o of n.outputs) w.string(2, o); // NodeProto.output
  if (n.name !== undefined) w.string(3, n.name); // NodeProto.name
  w.string(4, n.opType); // NodeProto.op_type
  for (const a of n.attributes ?? []) w.message(5, (aw) => writeAttribute(aw, a)); // NodeProto.attribute
}

/** Encodes an ONNX ModelProto. */
export function encodeOnnxModel(graph: OnnxGraph, options: OnnxModelOptions = {}): Uint8Array {
  const w = new ProtobufWriter();
  w.int(1, options.irVersion ?? 8); // ModelProto.ir_version
  w.string(2, options.producerName ?? "berth"); // ModelProto.producer_name
  w.message(7, (g) => { // ModelProto.graph: GraphProto
    for (const n of graph.nodes) g.message(1, (nw) => writeNode(nw, n)); // GraphProto.node
    g.string(2, graph.name); // GraphProto.name
    for (const t of graph.initializers ?? []) g.message(5, (tw) => writeInitializer(tw, t)); // GraphProto.initializer
    for (const i of graph.inputs) g.message(11, (vw) => writeValueInfo(vw, i)); // GraphProto.input
    for (const o of graph.outputs) g.message(12, (vw) => writeValueInfo(vw, o)); // GraphProto.output
  });
  w.message(8, (o) => { // ModelProto.opset_import: OperatorSetIdProto
    o.string(1, ""); // domain: the default ONNX domain
    o.int(2, options.opsetVersion ?? 13); // version
  });
  return w.finish();
}

/** Little-endian raw_data for a typed array (the machine's order may differ). */
export function rawData(values: Float32Array | Int32Array | BigInt64Array | Uint8Array): Uint8Array {
  const out = new Uint8Array(values.length * values.BYTES_PER_ELEMENT);
  const view = new DataView(out.buffer);
  values.forEach((v: number | bigint, i: number) => {
    if (values instanceof Float32Array) view.setFloat32(i * 4, v as number, true);
    else if (values instanceof Int32Array) view.setInt32(i * 4, v as number, true);
    else if (values instanceof BigInt64Array) view.setBigInt64(i * 8, v as bigint, true);
    else view.setUint8(i, v as number);
  });
  return out;
}
