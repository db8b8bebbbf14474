import { Logger } from "effect";

// Log lines leave in one write per turn of the event loop instead of one write (a system call;
// a blocking one for pipes and files) per line: a busy berthd logs several lines per lease
// operation, and writing them one by one was an eighth of its time under load (profiled on
// `npm run bench:api`). Lines are held at most until the current turn ends, or until
// `maxBuffered` characters pile up; `flush` writes what is held at once (at exit).

export interface LineSink {
  readonly write: (line: string) => void;
  /** Writes every held line now. */
  readonly flush: () => void;
}

export const batchedLines = (writeChunk: (chunk: string) => void, maxBuffered = 1 << 20): LineSink => {
  let held: string[] = [];
  let size = 0;
  let scheduled = false;
  const flush = (): void => {
    if (held.length === 0) return;
    const chunk = `${held.join("\n")}\n`;
    held = [];
    size = 0;
    writeChunk(chunk);
  };
  return {
    write: (line) => {
      held.push(line);
      size += line.length;
      if (size >= maxBuffered) flush();
      else if (!scheduled) {
        scheduled = true;
        // unref'd: held lines never keep a finished process alive (the exit hook flushes them).
        setImmediate(() => {
          scheduled = false;
          flush();
        }).unref();
      }
    },
    flush,
  };
};

/** Effect's JSON logger (one object per line) into `sink`. */
export const jsonLinesLogger = (sink: LineSink): Logger.Logger<unknown, void> => Logger.map(Logger.jsonLogger, sink.write);
