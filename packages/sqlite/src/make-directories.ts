import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Create a directory and its missing parents, one level at a time.
 *
 * Node 20's `mkdirSync(dir, { recursive: true })` never returns when a parent refuses the
 * new entry with ENOENT (any path under `/proc`): it spins at full CPU. This walk fails
 * with that ENOENT instead.
 * @throws the file system's error (with `code` and `syscall`) for the first level that fails
 */
export function makeDirectories(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !exists(d) && dirname(d) !== d; d = dirname(d)) missing.unshift(d);
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
