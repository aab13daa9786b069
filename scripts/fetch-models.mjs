#!/usr/bin/env node
// Fetches the ONNX models Shelia uses from the pinned npm package, verifies each against the
// sha256 in models/manifest.json and writes them to models/. Plain JS (not TS) because it runs
// from `postinstall`, before anything is compiled.
//
// Usage: node scripts/fetch-models.mjs [--verify-only]
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const modelsDir = process.env.MODELS_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'models');
const manifest = JSON.parse(readFileSync(join(modelsDir, 'manifest.json'), 'utf8'));
const spec = `${manifest.source.package}@${manifest.source.version}`;
const verifyOnly = process.argv.includes('--verify-only');

const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');
const entries = Object.values(manifest.models);
const isGood = (m) => existsSync(join(modelsDir, m.file)) && sha256(join(modelsDir, m.file)) === m.sha256;

function fail(message) {
  console.error(`models: ${message}`);
  process.exit(1);
}

const missing = entries.filter((m) => !isGood(m));
if (missing.length === 0) {
  console.log(`models: ${entries.length} files present and verified in ${modelsDir}`);
  process.exit(0);
}
if (verifyOnly) fail(`missing or corrupt: ${missing.map((m) => m.file).join(', ')} (run \`npm run models\`)`);

const work = mkdtempSync(join(tmpdir(), 'shelia-models-'));
try {
  console.log(`models: fetching ${spec} with npm pack`);
  const out = execFileSync('npm', ['pack', spec, '--pack-destination', work, '--json', '--silent'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tarball = join(work, JSON.parse(out)[0].filename);
  const wanted = missing.map((m) => `package/model/${m.file}`);
  execFileSync('tar', ['-xzf', tarball, '-C', work, ...wanted], { stdio: 'inherit' });
  for (const m of missing) {
    const extracted = join(work, 'package', 'model', m.file);
    if (!existsSync(extracted)) fail(`${m.file} is not in ${spec}`);
    const got = sha256(extracted);
    if (got !== m.sha256) fail(`${m.file}: sha256 ${got} does not match the manifest's ${m.sha256}`);
    copyFileSync(extracted, join(modelsDir, m.file));
    console.log(`models: ${m.file} verified (${m.sha256.slice(0, 12)}…)`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
