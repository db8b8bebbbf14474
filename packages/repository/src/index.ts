export * from "./text-format.js";
export * from "./config-pbtxt.js";
export * from "./local-directory.js";
export * from "./demo/onnx-writer.js";
export * from "./demo/demo-models.js";
export * from "./demo/demo-repository.js";
