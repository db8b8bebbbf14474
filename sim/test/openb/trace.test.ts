import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { defaultNodeFile, OPENB_DIR, podFileOf, readNodes, readPods } from "../../src/openb/files.js";
import { clusterGpuMilli, gpuDemandOf, OpenbParseError, parseNodeList, parsePodList, toClusterNode, toPlacementRequest } from "../../src/openb/trace.js";

const haveTrace = existsSync(OPENB_DIR);

describe.skipIf(!haveTrace)("openb trace files", () => {
  it("reads the GPU node list: 1,213 nodes, 6,212 GPUs", () => {
    const nodes = readNodes(defaultNodeFile());
    expect(nodes).toHaveLength(1213);
    expect(nodes.reduce((s, n) => s + n.gpus, 0)).toBe(6212);
    expect(clusterGpuMilli(nodes)).toBe(6_212_000);
    expect(new Set(nodes.map((n) => n.model))).toEqual(new Set(["G2", "T4", "P100", "G3", "V100M16", "V100M32", "A10"]));
  });

  it("reads CPU-only nodes with no GPU and no model", () => {
    const nodes = readNodes(defaultNodeFile().replace("gpu_node", "all_node"));
    const cpuOnly = nodes.filter((n) => n.gpus === 0);
    expect(nodes.length - cpuOnly.length).toBe(1213);
    expect(cpuOnly.length).toBeGreaterThan(0);
    expect(cpuOnly.every((n) => n.model === "")).toBe(true);
    expect(toClusterNode(cpuOnly[0]).gpus).toEqual([]);
  });

  it("reads every pod list, including multigpu20's five columns", () => {
    const counts = { default: 8152, cpu050: 7439, gpuspec10: 8152, multigpu20: 8324 };
    for (const [trace, n] of Object.entries(counts)) expect(readPods(podFileOf(trace))).toHaveLength(n);
    const spec = readPods(podFileOf("gpuspec10")).filter((p) => p.gpuSpec.length > 0);
    expect(spec.length).toBeGreaterThan(0);
    expect(spec.flatMap((p) => p.gpuSpec).every((m) => ["G2", "T4", "P100", "G3", "V100M16", "V100M32", "A10"].includes(m))).toBe(true);
    expect(readPods(podFileOf("multigpu20")).every((p) => p.gpuSpec.length === 0)).toBe(true);
  });
});

describe("openb parsing", () => {
  it("maps pods to GPU demands: none, a share, whole GPUs", () => {
    const [cpu, share, whole] = parsePodList(
      "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\np0,1000,512,0,0,\np1,2000,1024,1,460,T4|P100\np2,8000,4096,2,1000,\n",
    );
    expect(gpuDemandOf(cpu)).toEqual({ kind: "none" });
    expect(gpuDemandOf(share)).toEqual({ kind: "share", milli: 460, memory: 0 });
    expect(gpuDemandOf(whole)).toEqual({ kind: "whole", count: 2 });
    expect(toPlacementRequest(share).gpuModels).toEqual(["T4", "P100"]);
    expect(toPlacementRequest(cpu).gpuModels).toBeUndefined();
    expect(toPlacementRequest(whole).memory).toBe(4096 * 1024 * 1024);
  });

  it("rejects malformed files with the line at fault", () => {
    expect(() => parseNodeList("sn,cpu_milli,memory_mib,gpu\nn0,1,1,1\n")).toThrow(/missing column\(s\) model/);
    expect(() => parseNodeList("sn,cpu_milli,memory_mib,gpu,model\nn0,abc,1,1,T4\n")).toThrow(OpenbParseError);
    expect(() => parsePodList("name,cpu_milli,memory_mib,num_gpu,gpu_milli\np,1,1,1,1500\n")).toThrow(/:2: gpu_milli 1500/);
    expect(() => parseNodeList("")).toThrow(/empty/);
  });
});
