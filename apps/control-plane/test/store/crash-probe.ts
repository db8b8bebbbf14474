/**
 * The crash test's reducer: counts events and checks they arrive in order. Recovery from any
 * snapshot plus the events after it must give count === the head's seq.
 */
export interface ProbeState {
  readonly count: number;
}

export const foldProbe = (state: ProbeState, event: { readonly seq: number }): ProbeState => {
  if (event.seq !== state.count + 1) throw new Error(`event ${event.seq} applied after ${state.count} events: a gap or a replay`);
  return { count: state.count + 1 };
};
