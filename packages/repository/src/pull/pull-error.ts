import { Data } from "effect";

export class PullError extends Data.TaggedError("PullError")<{
  /** Source: the repository failed (not found, HTTP error); ChecksumMismatch/SizeMismatch: a file
   * arrived different from what the repository lists; Io: the cache could not be written. */
  readonly reason: "Source" | "ChecksumMismatch" | "SizeMismatch" | "Io";
  readonly repository: string;
  readonly model: string;
  readonly file?: string;
  readonly message: string;
}> {}
