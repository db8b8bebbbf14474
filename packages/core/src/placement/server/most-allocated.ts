import type { ServerScorer } from "./types.js";

export const MOST_ALLOCATED = "MostAllocated";

/** Packing: prefer the server that would be fullest after binding, so empty servers can go. */
export const mostAllocated: ServerScorer["score"] = (request, candidate) =>
  candidate.capacity <= 0 ? 0 : Math.min(100, (100 * (candidate.used + request.memory)) / candidate.capacity);

export const mostAllocatedScorer = (): ServerScorer => ({ name: MOST_ALLOCATED, score: mostAllocated });
