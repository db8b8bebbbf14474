// The sidecar logs JSON lines to stderr; tests pass their own sink.
export type Log = (event: string, fields?: Record<string, unknown>) => void;

export const stderrLog: Log = (event, fields = {}) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`);
};

export const silentLog: Log = () => {};
