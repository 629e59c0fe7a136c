import { describe, expect, it } from 'vitest';
import { p_value, signed } from './numbers.ts';

describe('numbers', () => {
  it('a p-value the t distribution underflows to 0 is a bound, not "0.0"', () => {
    expect(p_value(0)).toBe('< 1e-15');
    expect(p_value(3e-20)).toBe('< 1e-15');
    expect(p_value(0.0123)).toBe('0.012');
    expect(p_value(4.4e-9)).toBe('4.4e-9');
  });

  it('signs positive values and leaves negative ones', () => {
    expect(signed('1.0 ms')).toBe('+1.0 ms');
    expect(signed('-1.0 ms')).toBe('-1.0 ms');
  });
});
