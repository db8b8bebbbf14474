import { runOpenbCommand } from "/work/main/sim/src/openb/command.js";
process.exitCode = await runOpenbCommand(process.argv.slice(2));
