import { describe, expect, it } from 'vitest';
import { Kernel, canonical_assumptions, check_assumptions, define_assumption, known_assumptions } from './index.ts';

const TEST_CHOICE = define_assumption({
  id: 'simtest.choice', values: ['a', 'b'] as const, default: 'a',
  summary: 'a choice only this test reads', doc: 'packages/sim/assumptions.test.ts',
});

describe('selectable assumptions', () => {
  it('a kernel reads the selected value, or the default when none is selected', () => {
    expect(new Kernel().assume(TEST_CHOICE)).toBe('a');
    expect(new Kernel({ assume: { 'simtest.choice': 'b' } }).assume(TEST_CHOICE)).toBe('b');
  });

  it('rejects unknown ids and values not allowed, naming them', () => {
    expect(() => new Kernel({ assume: { 'simtest.choice': 'c' } })).toThrow(/simtest.choice.*cannot be 'c'.*a, b/);
    expect(check_assumptions({ 'simtest.nope': 'a' })[0]).toMatch(/unknown assumption 'simtest.nope'/);
    expect(() => define_assumption({ id: 'simtest.choice', values: ['x', 'y'], default: 'x', summary: '', doc: '' })).toThrow(/twice/);
    expect(() => define_assumption({ id: 'simtest.bad', values: ['x', 'y'], default: 'z' as 'x', summary: '', doc: '' })).toThrow(/default/);
  });

  it('canonical form drops defaults and sorts ids', () => {
    expect(canonical_assumptions({ 'simtest.choice': 'a' })).toEqual({});
    expect(Object.keys(canonical_assumptions({ 'zz.unknown': 'x', 'simtest.choice': 'b' }))).toEqual(['simtest.choice', 'zz.unknown']);
    expect(known_assumptions().map((a) => a.id)).toContain('simtest.choice');
  });
});
