/**
 * The plain-text helpers: wrapping keeps every character within the width (never truncates),
 * continuation lines hang under a header field's value, and tables wrap one column.
 */
import { describe, expect, it } from 'vitest';
import { text_table, wrap, wrap_text } from './wrap.ts';

describe('wrap', () => {
  it('breaks at spaces within the width, continuation lines indented', () => {
    expect(wrap('aaa bbb ccc ddd', 8, '  ')).toEqual(['aaa bbb', '  ccc', '  ddd']);
  });

  it('keeps the first line\'s own spacing and splits a word longer than the room', () => {
    expect(wrap('  a    b', 80, '')).toEqual(['  a    b']);
    expect(wrap('x '.repeat(3) + 'y'.repeat(12), 8, '  ')).toEqual(['x x x', '  yyyyyy', '  yyyyyy']);
  });

  it('never drops a character', () => {
    const line = 'regression: drm_dep ran job producer/gfx#12 before its dependency consumer/gfx#11 finished, seed 17';
    const out = wrap(line, 30, '    ');
    for (const l of out) expect(l.length).toBeLessThanOrEqual(30);
    expect(out.map((l) => l.trim()).join(' ')).toBe(line);
  });
});

describe('wrap_text', () => {
  it('wraps only long lines, under the value of a "label:  value" line', () => {
    const text = `short line\nreproduce:  ${'npx deplab compare capture.txt --driver mock --seeds 20 '.repeat(2).trim()}\n`;
    const out = wrap_text(text, 80);
    expect(out.split('\n')[0]).toBe('short line');
    expect(out.split('\n').slice(1, -1).every((l, i) => l.length <= 80 && (i === 0 || l.startsWith(' '.repeat(12))))).toBe(true);
    expect(out.endsWith('\n')).toBe(true);
  });
});

describe('text_table', () => {
  it('fits the width by wrapping the chosen column, keeping the others aligned', () => {
    const lines = text_table([
      ['name', 'drivers', 'description'],
      ['kunit/50-50', 'mock', 'two clients with 50% each of the GPU, from the upstream two-clients test, synchronous submission'],
    ], { width: 60 });
    expect(lines[0]).toBe('name         drivers  description');
    expect(lines[1]).toBe('-----------  -------  ' + '-'.repeat(38));
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(60);
    expect(lines[2].startsWith('kunit/50-50  mock     two clients')).toBe(true);
    expect(lines[3].startsWith(' '.repeat(24))).toBe(true);
  });
});
