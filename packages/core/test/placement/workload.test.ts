import { describe, expect, it } from "vitest";
import { targetWorkloadFromRequests } from "../../src/placement/workload.js";
import { none, request, share, whole } from "./fixtures.js";

const pods = [
  ...Array.from({ length: 6 }, () => request(share(500), { cpu: 4000, memory: 8 })),
  ...Array.from({ length: 3 }, (_, k) => request(whole(1), { cpu: 8000, memory: 16 + k })),
  request(none, { cpu: 2000 }),
];

describe("target workload", () => {
  it("is each request type's popularity, summing to 1", () => {
    const w = targetWorkloadFromRequests(pods);
    expect(w.types).toEqual([
      { cpu: 4000, memory: 8, gpu: share(500), weight: 0.6 },
      { cpu: 8000, memory: 16, gpu: whole(1), weight: 0.3 },
      { cpu: 2000, memory: expect.any(Number), gpu: none, weight: 0.1 },
    ]);
  });
  it("keeps the most popular types up to the threshold and renormalises", () => {
    const w = targetWorkloadFromRequests(pods, { popularityThreshold: 80 });
    expect(w.types.map((t) => [t.gpu.kind, t.weight])).toEqual([
      ["share", 6 / 9],
      ["whole", 3 / 9],
    ]);
  });
  it("can leave CPU-only requests out", () => {
    expect(targetWorkloadFromRequests(pods, { includeCpuOnly: false }).types.map((t) => t.gpu.kind)).toEqual(["share", "whole"]);
  });
  it("keeps GPU model constraints as part of the type", () => {
    const w = targetWorkloadFromRequests([request(share(500), { gpuModels: ["V100", "A10"] }), request(share(500))]);
    expect(w.types.map((t) => t.gpuModels)).toEqual([["A10", "V100"], undefined]);
  });
});
