/** Settings shared by every store layer unless the caller overrides them. */
export const storeDefaults = {
  /** Events kept before the newest snapshot when compacting. */
  keepTail: 1000,
  /** A retried API call is recognised for a day. */
  idempotencyTtlMs: 24 * 60 * 60 * 1000,
} as const;
