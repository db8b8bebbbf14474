import { execFile } from "node:child_process";
import { Clock, Effect } from "effect";
import type { ClusterNode, Gpu } from "@berth/core";
import type { BerthdConfigShape } from "../config/config.js";
import type { NodeConfig } from "../config/schema.js";
import { logInfo } from "../log.js";
import type { EngineShape } from "./engine.js";

const MiB = 1024 * 1024;

/** GPUs nvidia-smi reports (index, name, total memory), or undefined without it. */
export const probeNvidiaGpus: Effect.Effect<Gpu[] | undefined> = Effect.async((resume) => {
  execFile("nvidia-smi", ["--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"], { timeout: 5000 }, (error, stdout) => {
    if (error) return resume(Effect.succeed(undefined));
    const gpus = stdout
      .trim()
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => line.split(",").map((f) => f.trim()))
      .map(([index, name, memory]) => ({ index: Number(index), model: (name ?? "gpu").replace(/^NVIDIA\s+/, "").replace(/\s+/g, "-"), memory: Number(memory) * MiB }))
      .filter((g) => Number.isInteger(g.index) && g.memory > 0);
    resume(Effect.succeed(gpus.length > 0 ? gpus : undefined));
  });
});

/**
 * A configured node as placement sees it. `gpus: auto` asks nvidia-smi; on a machine without
 * GPUs the node offers one pretend GPU (model `cpu`) of `cpuGpuMemory`: the model server runs
 * on the CPU, and the budget still caps how much is loaded, so placement works on a laptop.
 */
export const resolveNode = (node: NodeConfig, probe: Effect.Effect<Gpu[] | undefined> = probeNvidiaGpus): Effect.Effect<ClusterNode> =>
  Effect.gen(function* () {
    const gpus: Gpu[] =
      node.gpus !== "auto"
        ? node.gpus.map((g, index) => ({ index, model: g.model, memory: g.memory }))
        : ((yield* probe) ?? [{ index: 0, model: "cpu", memory: node.cpuGpuMemory }]);
    return { name: node.name, cpu: node.cpu, memory: node.memory, gpus, state: "Ready" as const, labels: node.labels };
  });

export const DEFAULT_NODE: NodeConfig = { name: "local", cpu: 8000, memory: 16 * 1024 ** 3, gpus: "auto", cpuGpuMemory: 8 * 1024 ** 3, labels: {} };

/** Tell decide about the configured nodes (only what changed since the stored state); nodes no longer configured go NotReady. */
export const registerNodes = (engine: EngineShape, config: BerthdConfigShape, probe?: Effect.Effect<Gpu[] | undefined>) =>
  Effect.gen(function* () {
    const nodes = yield* Effect.forEach(config.nodes ?? [DEFAULT_NODE], (n) => resolveNode(n, probe));
    const known = engine.snapshot().nodes;
    for (const node of nodes) {
      if (JSON.stringify(known[node.name]?.node) === JSON.stringify(node)) continue;
      const at = yield* Clock.currentTimeMillis;
      yield* engine.submit({ _tag: "NodeObserved", at, node });
      yield* logInfo("node registered", { node: node.name, gpus: node.gpus.map((g) => `${g.index}:${g.model}:${g.memory}`) });
    }
    for (const record of Object.values(known)) {
      if (nodes.some((n) => n.name === record.node.name) || record.node.state === "NotReady") continue;
      const at = yield* Clock.currentTimeMillis;
      yield* engine.submit({ _tag: "NodeObserved", at, node: { ...record.node, state: "NotReady" } });
    }
    return nodes;
  });
