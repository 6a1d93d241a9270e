import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Tests that spawn `bin/virtbot.js` need an up-to-date dist/: build once if any source is newer. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  let built = 0;
  try {
    built = statSync('dist/src/cli.js').mtimeMs;
  } catch {
    // not built yet
  }
  if (built < Math.max(newestSource('src'), newestSource('commands'))) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
  }
}
