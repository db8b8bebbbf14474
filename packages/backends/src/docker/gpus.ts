// The GPUs a Docker node has: from the configuration, or asked of nvidia-smi when it is
// installed (none otherwise). Placements naming other GPUs are refused before anything starts.
import { execFileSync } from "node:child_process";

/** GPU indices nvidia-smi lists; empty when it is missing or fails. */
export function nvidiaSmiGpus(): readonly number[] {
  try {
    const out = execFileSync("nvidia-smi", ["--query-gpu=index", "--format=csv,noheader"], { encoding: "utf8", timeout: 10_000, stdio: ["ignore", "pipe", "ignore"] });
    return out
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => /^\d+$/.test(l))
      .map(Number);
  } catch {
    return [];
  }
}

export const gpuInventory = (configured: readonly number[] | undefined): readonly number[] => configured ?? nvidiaSmiGpus();

export interface GpuNode {
  readonly inventory: readonly number[];
  readonly cpuOnly: boolean;
}

/**
 * The node's GPUs as the backend uses them. `cpuOnly` when none are configured and nvidia-smi
 * finds none: the GPU indices in placements are then berthd's pretend GPU of a machine without
 * any (its nodes' `gpus: auto`), so containers get no device requests and servers run on the CPU.
 * A configured inventory (even an empty one) is strict: placements outside it are refused.
 */
export function gpuNode(configured: readonly number[] | undefined, detect: () => readonly number[] = nvidiaSmiGpus): GpuNode {
  const inventory = configured ?? detect();
  return { inventory, cpuOnly: configured === undefined && inventory.length === 0 };
}

/** Problems with GPU indices outside the inventory, one per replica placement. */
export function gpuProblems(inventory: readonly number[], placements: readonly { readonly index: number; readonly gpus: readonly number[] }[]): string[] {
  const have = new Set(inventory);
  return placements.flatMap(({ index, gpus }) => {
    const missing = gpus.filter((g) => !have.has(g));
    return missing.length === 0 ? [] : [`replica ${index}: GPU ${missing.join(", ")} not on this node (GPUs: ${inventory.length === 0 ? "none" : inventory.join(", ")})`];
  });
}
