// Scenario files use the same quantities as lease specs (`24Gi`, `500m`, `30s`, `1h30m`), so
// they are decoded by the core's spec Schemas: one set of rules and messages for users.
export { BytesFromQuantity as BytesFromText, MilliCpuFromQuantity as CpuFromText } from "@berth/core/spec/quantity";
export { DurationFromString as DurationFromText } from "@berth/core/spec/duration";
