import type { CandidateVerdict, Reason, VerdictCode } from "../types.js";
import type { ServerBindingPolicy, ServerCandidate, ServerFilter, ServerScorer } from "./types.js";

export interface WeightedServerScorer {
  readonly scorer: ServerScorer;
  readonly weight: number;
}

const worse = (a: VerdictCode, b: VerdictCode): VerdictCode => (a === "Never" || b === "Never" ? "Never" : a === "NotNow" || b === "NotNow" ? "NotNow" : "Fits");

/**
 * A binding policy from filters and weighted scorers: every filter judges every server
 * (all reasons are kept when explaining), the best weighted score among those that fit
 * wins, ties going to the smaller server id so the choice is deterministic.
 */
export const filterScorePolicy = (name: string, filters: readonly ServerFilter[], scorers: readonly WeightedServerScorer[]): ServerBindingPolicy => ({
  name,
  bind(request, candidates, options) {
    const explain = options?.explain ?? false;
    const verdicts: CandidateVerdict[] = [];
    let best: { readonly candidate: ServerCandidate; readonly score: number } | undefined;
    for (const candidate of candidates) {
      let code: VerdictCode = "Fits";
      const reasons: Reason[] = [];
      for (const filter of filters) {
        const result = filter.filter(request, candidate);
        if (result.code === "Fits") continue;
        code = worse(code, result.code);
        if (result.reason) reasons.push(result.reason);
        if (!explain) break;
      }
      if (code !== "Fits") {
        if (explain) verdicts.push({ candidate: candidate.id, code, reasons });
        continue;
      }
      let score = 0;
      for (const { scorer, weight } of scorers) score += weight * scorer.score(request, candidate);
      if (explain) verdicts.push({ candidate: candidate.id, code, score, reasons });
      if (best === undefined || score > best.score || (score === best.score && candidate.id < best.candidate.id)) best = { candidate, score };
    }
    return { policy: name, ...(best ? { chosen: best.candidate.id } : {}), ...(explain ? { verdicts } : {}) };
  },
});
