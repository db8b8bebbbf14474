// Where the openb trace lives (../shared/data/openb beside the repository) and reading it.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseNodeList, parsePodList, type OpenbNode, type OpenbPod } from "./trace.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const OPENB_DIR = path.resolve(REPO_ROOT, "../shared/data/openb");
export const OPENB_TRACES = ["default", "cpu050", "gpuspec10", "multigpu20"] as const;

export const defaultNodeFile = (): string => path.join(OPENB_DIR, "openb_node_list_gpu_node.csv");
export const podFileOf = (trace: string): string => path.join(OPENB_DIR, `openb_pod_list_${trace}.csv`);

export const readNodes = (file: string): OpenbNode[] => parseNodeList(readFileSync(file, "utf8"), file);
export const readPods = (file: string): OpenbPod[] => parsePodList(readFileSync(file, "utf8"), file);
