import { Either } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canTransition, IllegalTransition, isLive, isTerminal, transition, TRANSITIONS } from "../../src/lease/phase.js";
import { LEASE_PHASES, type LeasePhase, type LeaseRecord } from "../../src/lease/types.js";

const lease = (phase: LeasePhase): LeaseRecord =>
  ({ id: "l1", phase, phaseSince: 0 }) as unknown as LeaseRecord;

describe("lease phase machine", () => {
  it("allows the lifecycle's happy path", () => {
    let l = lease("Pending");
    for (const to of ["Placing", "Loading", "Ready", "Expiring", "Released"] as const) {
      const moved = transition(l, to, 5);
      expect(Either.isRight(moved)).toBe(true);
      l = Either.getOrThrow(moved);
      expect(l.phase).toBe(to);
      expect(l.phaseSince).toBe(5);
    }
  });

  it("refuses illegal moves with a typed error naming both phases", () => {
    const moved = transition(lease("Released"), "Ready");
    expect(Either.isLeft(moved)).toBe(true);
    const error = Either.getLeft(moved);
    expect(error._tag === "Some" && error.value).toBeInstanceOf(IllegalTransition);
    expect(error._tag === "Some" && error.value).toMatchObject({ _tag: "IllegalTransition", from: "Released", to: "Ready", leaseId: "l1" });
    expect(Either.isLeft(transition(lease("Pending"), "Ready"))).toBe(true);
    expect(Either.isLeft(transition(lease("Expiring"), "Loading"))).toBe(true);
  });

  it("terminal phases have no way out, and transition agrees with the table for every pair", () => {
    fc.assert(
      fc.property(fc.constantFrom(...LEASE_PHASES), fc.constantFrom(...LEASE_PHASES), (from, to) => {
        expect(Either.isRight(transition(lease(from), to))).toBe(TRANSITIONS[from].includes(to));
        expect(canTransition(from, to)).toBe(TRANSITIONS[from].includes(to));
        if (isTerminal(from)) expect(canTransition(from, to)).toBe(false);
      }),
    );
    expect(LEASE_PHASES.filter(isLive)).toEqual(["Pending", "Placing", "Loading", "Ready"]);
  });
});
