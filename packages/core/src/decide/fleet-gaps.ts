import { BERTH_KEEPALIVE, defaultBerthKeepAliveOptions } from "../eviction/keepalive-berth.js";
import { addFleetGap, emptyFleetGaps } from "../eviction/fleet-gaps.js";
import type { EpochMs } from "../units.js";
import type { Draft } from "./draft.js";

// The fleet's idle gaps for the pooled keep-alive prior (KeepAliveInput.fleet). The simulator
// keeps one policy instance per run, whose fleet summary grows with every lease's gaps; decide
// builds a fresh policy per decision and keeps no state outside its snapshot, so it keeps that
// summary there (Snapshot.fleetGaps, bounded by the bin grid: eviction/fleet-gaps.ts) and adds
// each gap as a lease records it. Only while the Berth policy is configured: no other uses it.

/** Note that a lease was idle from `start` until now (call where its activity records the gap). */
export const noteFleetGap = (draft: Draft, start: EpochMs): void => {
  const gap = draft.now - start;
  if (!(gap > 0) || draft.config.keepAlivePolicy !== BERTH_KEEPALIVE) return;
  draft.fleetGaps = addFleetGap(draft.fleetGaps ?? emptyFleetGaps(defaultBerthKeepAliveOptions.timeOfDayShiftAbove), start, gap);
};
