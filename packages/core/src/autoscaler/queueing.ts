// Erlang's M/M/k formulas, the queueing model behind Berth's autoscaler. They treat a fleet of
// n replicas with s batch slots each as k = n*s servers fed by one Poisson stream, which is what
// a least-outstanding router across replicas approximates.

/** Erlang C: the probability that an arrival waits, for k servers and offered load a = rate * service time (in servers). */
export const erlangC = (k: number, a: number): number => {
  if (a <= 0) return 0;
  if (k <= 0 || a >= k) return 1;
  // Erlang B by its stable recursion, then C from B.
  let b = 1;
  for (let j = 1; j <= k; j++) b = (a * b) / (j + a * b);
  return (k * b) / (k - a * (1 - b));
};

/** P(wait > t) in M/M/k with mean service time `serviceMs`. */
export const probabilityWaitOver = (k: number, a: number, serviceMs: number, tMs: number): number => {
  if (a <= 0) return 0;
  if (a >= k) return 1;
  return erlangC(k, a) * Math.exp((-(k - a) * tMs) / serviceMs);
};

/**
 * The fewest replicas (of `slotsPerReplica` servers each) for which P(wait > targetMs) <= epsilon,
 * searched up to `cap` (returned when even `cap` is not enough).
 */
export const replicasForWaitTarget = (
  offeredLoad: number,
  slotsPerReplica: number,
  serviceMs: number,
  targetMs: number,
  epsilon: number,
  cap: number,
): number => {
  if (offeredLoad <= 0) return 0;
  // Below this many replicas the fleet is unstable (load >= servers); start the search there.
  const first = Math.max(1, Math.floor(offeredLoad / slotsPerReplica));
  for (let n = first; n < cap; n++) {
    if (probabilityWaitOver(n * slotsPerReplica, offeredLoad, serviceMs, targetMs) <= epsilon) return n;
  }
  return cap;
};
