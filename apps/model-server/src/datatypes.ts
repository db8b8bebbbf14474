// KServe v2 tensor data types and how they map to config.pbtxt types and ONNX Runtime types.
import type { ModelDataType } from "@berth/repository/config-pbtxt";

export const KSERVE_DATATYPES = [
  "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES",
] as const;
export type KServeDatatype = (typeof KSERVE_DATATYPES)[number];

export function isKServeDatatype(s: string): s is KServeDatatype {
  return (KSERVE_DATATYPES as readonly string[]).includes(s);
}

/** config.pbtxt's TYPE_STRING is the protocol's BYTES; the other names are shared. */
export function kserveDatatypeOf(t: ModelDataType): KServeDatatype | undefined {
  if (t === "STRING") return "BYTES";
  return isKServeDatatype(t) ? t : undefined;
}

/** Bytes per element in binary tensor data; BYTES elements are length-prefixed instead. */
export function elementSize(t: KServeDatatype): number | undefined {
  switch (t) {
    case "BOOL":
    case "UINT8":
    case "INT8":
      return 1;
    case "UINT16":
    case "INT16":
    case "FP16":
      return 2;
    case "UINT32":
    case "INT32":
    case "FP32":
      return 4;
    case "UINT64":
    case "INT64":
    case "FP64":
      return 8;
    case "BYTES":
      return undefined;
  }
}

/** ONNX Runtime's tensor type name for each protocol type. */
export const ORT_TYPE: Record<KServeDatatype, string> = {
  BOOL: "bool", UINT8: "uint8", UINT16: "uint16", UINT32: "uint32", UINT64: "uint64",
  INT8: "int8", INT16: "int16", INT32: "int32", INT64: "int64",
  FP16: "float16", FP32: "float32", FP64: "float64", BYTES: "string",
};

export function kserveDatatypeOfOrt(ortType: string): KServeDatatype | undefined {
  return (Object.entries(ORT_TYPE) as [KServeDatatype, string][]).find(([, o]) => o === ortType)?.[0];
}
