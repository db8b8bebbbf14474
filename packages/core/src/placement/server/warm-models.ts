import type { ServerScorer } from "./types.js";

export const WARM_MODELS = "WarmModels";

/** Prefer a server that already has the lease's models loaded (shared or kept warm): no load needed. */
export const warmModels: ServerScorer["score"] = (request, candidate) => {
  if (request.models.length === 0) return 0;
  const loaded = request.models.filter((key) => candidate.models.includes(key)).length;
  return (100 * loaded) / request.models.length;
};

export const warmModelsScorer = (): ServerScorer => ({ name: WARM_MODELS, score: warmModels });
