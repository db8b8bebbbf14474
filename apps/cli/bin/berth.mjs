#!/usr/bin/env node
// The `berth` command: runs src/main.ts through tsx's loader (the workspace ships TypeScript sources).
import { register } from "tsx/esm/api";

register();
const { runFromProcess } = await import("../src/main.ts");
await runFromProcess();
