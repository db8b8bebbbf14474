export { modelServer, startModelServer, ModelServerStartError, type ModelServer, type RunningModelServer } from "./server.js";
export { parseFlags, DEFAULT_OPTIONS, type ServerOptions } from "./flags.js";
export { formatListeningLine, parseListeningLine, type ListeningPorts } from "./listening-line.js";
export { ModelService, SERVER_NAME, SERVER_VERSION } from "./model-service.js";
