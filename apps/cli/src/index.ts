// The CLI as a library: run a command line in-process (tests, other tools) or read the command table.
export { main, runFromProcess } from "./main.js";
export { COMMANDS } from "./commands/index.js";
export { ExitCode, EXIT_CODE_HELP, exitCodeForGrpcStatus } from "./exit.js";
export type { Io } from "./io.js";
export type { Group, Verb, FlagSpec } from "./command.js";
