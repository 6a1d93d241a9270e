import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Suites start real servers (libvirtd, sshd, IRC); two cores do not want more files at once.
    maxWorkers: 2,
  },
});
