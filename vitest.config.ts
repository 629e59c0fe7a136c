import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/**/*.test.ts', 'drivers/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    pool: 'threads',
    watch: false,
    reporters: ['default', './vitest.summary-reporter.ts'],
    testTimeout: 120_000,
  },
});
