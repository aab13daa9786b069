#!/usr/bin/env node
// Compiles src/worker/matching/native/codes.c (the 1:N prefilter's Hamming scan) into
// dist/src/worker/matching/codes.node with the system C compiler against the running Node's
// headers (<prefix>/include/node; Debian's nodejs and the official images ship them). No
// node-gyp: one C file with no dependencies. Without a compiler or headers it warns and the
// index falls back to its JavaScript kernel (same answers, ~15x slower scan).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const source = join(root, 'src/worker/matching/native/codes.c');
const out = join(root, 'dist/src/worker/matching/codes.node');
const include = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node'].find((d) =>
  existsSync(join(d, 'node_api.h')),
);
if (existsSync(out) && statSync(out).mtimeMs > statSync(source).mtimeMs) process.exit(0);
if (!include) {
  console.warn('build-native: no node_api.h found; the 1:N index will use its JavaScript kernel');
  process.exit(0);
}
mkdirSync(dirname(out), { recursive: true });
const cc = process.env.CC ?? 'cc';
const r = spawnSync(
  cc,
  ['-O3', '-fPIC', '-shared', '-pthread', '-Wall', '-Wextra', '-I', include, source, '-o', out],
  {
    stdio: 'inherit',
  },
);
if (r.status !== 0)
  console.warn(
    `build-native: ${cc} failed (${r.error?.message ?? r.status}); the 1:N index will use its JavaScript kernel`,
  );
