import type { ClusterNode, Gpu } from "@berth/core/cluster/types";
import type { Scenario } from "../scenario/schema.js";

/** Node names are `<group>-<index>`, so scenarios can name the node a failure hits. */
export const nodeName = (group: string, index: number): string => `${group}-${index}`;

/** The cluster's nodes, all Ready, in node-group order. */
export const buildNodes = (cluster: Scenario["cluster"]): ClusterNode[] =>
  cluster.nodeGroups.flatMap((g) =>
    Array.from({ length: g.count }, (_, i): ClusterNode => {
      const gpus: Gpu[] = g.gpus ? Array.from({ length: g.gpus.count }, (_, index) => ({ index, model: g.gpus!.model, memory: g.gpus!.memory })) : [];
      return { name: nodeName(g.name, i), cpu: g.cpu, memory: g.memory, gpus, state: "Ready", labels: { ...(g.labels ?? {}), "berth.dev/node-group": g.name } };
    }),
  );

/** Total GPU capacity of a set of nodes: whole GPUs (milli) and bytes of GPU memory. */
export const gpuCapacity = (nodes: readonly ClusterNode[]): { readonly milli: number; readonly memory: number } => {
  let milli = 0, memory = 0;
  for (const n of nodes) for (const g of n.gpus) { milli += 1000; memory += g.memory; }
  return { milli, memory };
};
