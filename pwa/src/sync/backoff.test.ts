import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff';

describe('backoffDelay', () => {
  it('doubles the window per attempt and stays within [half, full] of it', () => {
    // random() = 0 gives the lower bound (half the window), ~1 the upper bound.
    expect(backoffDelay(0, () => 0)).toBe(500);
    expect(backoffDelay(0, () => 0.999999)).toBe(1000);
    expect(backoffDelay(1, () => 0)).toBe(1000);
    expect(backoffDelay(3, () => 0)).toBe(4000);
    expect(backoffDelay(3, () => 0.5)).toBe(6000);
  });

  it('never exceeds the cap, however many attempts failed', () => {
    for (const attempt of [5, 10, 31, 1000]) {
      expect(backoffDelay(attempt, () => 0.999999)).toBeLessThanOrEqual(30_000);
      expect(backoffDelay(attempt, () => 0)).toBe(15_000);
    }
  });

  it('spreads clients out: different random draws give different delays', () => {
    const delays = new Set([0.1, 0.3, 0.6, 0.9].map((r) => backoffDelay(4, () => r)));
    expect(delays.size).toBe(4);
  });
});
