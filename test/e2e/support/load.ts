// A closed-loop load generator: each worker sends a request (`send`, true when it was served),
// waits for its answer, and sends the next, so the workers are the requests in flight. Workers
// can be added while it runs (to push a replica's queue over a target on whatever machine the
// test lands on) and all stop together.
export interface Load {
  /** Workers running (requests in flight at most). */
  readonly workers: number;
  /** Answers with status 200 so far. */
  readonly served: number;
  /** Answers with another status, or no answer, so far. */
  readonly failed: number;
  add(count: number): void;
  /** Stops every worker after its request in flight; resolves when all have. */
  stop(): Promise<void>;
}

export function startLoad(send: (seed: number) => Promise<boolean>, workers: number): Load {
  let running = true;
  let served = 0;
  let failed = 0;
  const loops: Promise<void>[] = [];
  const worker = async (seed: number): Promise<void> => {
    while (running) {
      if (await send(seed).catch(() => false)) served++;
      else failed++;
    }
  };
  const add = (count: number): void => {
    for (let i = 0; i < count; i++) loops.push(worker(loops.length));
  };
  add(workers);
  return {
    get workers() {
      return loops.length;
    },
    get served() {
      return served;
    },
    get failed() {
      return failed;
    },
    add,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
