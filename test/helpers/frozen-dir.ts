/**
 * A real storage fault for tests: a folder made immutable (`chattr +i` as root, where
 * permissions do not stop writes; `chmod 0555` otherwise), so creating or removing entries in
 * it fails (EPERM/EACCES) while reads still work. `thaw` undoes it.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';

const root = process.getuid?.() === 0;

export function freeze(dir: string): void {
  if (root) execFileSync('chattr', ['+i', dir]);
  else chmodSync(dir, 0o555);
}

export function thaw(dir: string): void {
  if (root) execFileSync('chattr', ['-i', dir]);
  else chmodSync(dir, 0o755);
}

/** chattr may be missing, or the file system may not support the attribute. */
export function canFreeze(dir: string): boolean {
  try {
    freeze(dir);
    thaw(dir);
    return true;
  } catch {
    return false;
  }
}
