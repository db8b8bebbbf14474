// The command table: every group and verb `berth` knows. Help, parsing and completion read it.
import type { Group } from "../command.js";
import { allowlistGroup } from "./allowlist.js";
import { completionGroup } from "./completion.js";
import { leaseGroup } from "./lease.js";
import { modelGroup } from "./model.js";
import { poolGroup } from "./pool.js";
import { serverGroup } from "./server.js";
import { targetGroup } from "./target.js";

export const COMMANDS: readonly Group[] = [
  leaseGroup,
  poolGroup,
  allowlistGroup,
  serverGroup,
  modelGroup,
  targetGroup,
  completionGroup(() => COMMANDS),
];
