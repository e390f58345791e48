// Reconnect delays: exponential backoff with "equal jitter" (half fixed, half
// random), so that a whole team coming back into signal does not reconnect in
// lock-step, while one phone still retries quickly after a short outage.

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, capMs: 30_000 };

/**
 * Delay before reconnect attempt number `attempt` (0 = first retry).
 * `random` returns a number in [0, 1).
 */
export function backoffDelay(attempt: number, random: () => number = Math.random, opts = DEFAULT_BACKOFF): number {
  const exp = Math.min(opts.capMs, opts.baseMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  const half = exp / 2;
  return Math.round(half + random() * half);
}
