/**
 * The walls `npm run lint` keeps (.dependency-cruiser.cjs) are real: the exact `lint:walls`
 * command from package.json passes on the real tree and fails, naming each rule, on a copy of
 * src/ in a temp directory with one file per wall broken and one import cycle. Nothing is
 * written under the repository's own src/.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../helpers/faces.js';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};
const WALLS = pkg.scripts['lint:walls'];

/** Runs the `lint:walls` script in `cwd` as npm would (node_modules/.bin on PATH). */
function runWalls(cwd: string): { status: number | null; output: string } {
  assert.ok(WALLS, 'package.json has no lint:walls script');
  const PATH = [join(repoRoot, 'node_modules', '.bin'), process.env.PATH ?? ''].join(delimiter);
  const r = spawnSync('sh', ['-c', WALLS], { cwd, env: { ...process.env, PATH }, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** Each file written into the copy, and the violation it must cause: [rule, from, to]. */
const PROBES: Record<string, string> = {
  'src/api/walls-target.ts': 'export const apiThing = 1;\n',
  'src/worker/walls-target.ts': 'export const workerThing = 1;\n',
  'test/walls-target.ts': 'export const testThing = 1;\n',
  'src/api/walls-probe.ts': "export { workerThing } from '../worker/walls-target.js';\n",
  'src/worker/walls-probe.ts': "export { apiThing } from '../api/walls-target.js';\n",
  'src/shared/walls-probe.ts': "export { apiThing } from '../api/walls-target.js';\n",
  'src/cli/walls-probe.ts': "export { workerThing } from '../worker/walls-target.js';\n",
  'src/shared/walls-test-probe.ts': "export { testThing } from '../../test/walls-target.js';\n",
  'src/launcher/walls-target.ts': 'export const launcherThing = 1;\n',
  'src/worker/walls-launcher-probe.ts': "export { launcherThing } from '../launcher/walls-target.js';\n",
  // A type-only cycle: type-only imports count (the config says why).
  'src/shared/walls-cycle-a.ts':
    "import type { B } from './walls-cycle-b.js';\nexport interface A {\n  b?: B;\n}\n",
  'src/shared/walls-cycle-b.ts':
    "import type { A } from './walls-cycle-a.js';\nexport interface B {\n  a?: A;\n}\n",
};
const EXPECTED: [rule: string, from: string, to: string][] = [
  ['api-not-to-worker', 'src/api/walls-probe.ts', 'src/worker/walls-target.ts'],
  ['worker-not-to-api', 'src/worker/walls-probe.ts', 'src/api/walls-target.ts'],
  ['shared-not-to-sides', 'src/shared/walls-probe.ts', 'src/api/walls-target.ts'],
  ['cli-only-shared', 'src/cli/walls-probe.ts', 'src/worker/walls-target.ts'],
  ['src-not-to-test-or-bench', 'src/shared/walls-test-probe.ts', 'test/walls-target.ts'],
  ['launcher-only-from-all-in-one', 'src/worker/walls-launcher-probe.ts', 'src/launcher/walls-target.ts'],
  ['no-circular', 'src/shared/walls-cycle-a.ts', 'src/shared/walls-cycle-b.ts'],
];

void describe('lint:walls (dependency-cruiser)', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'shelia-walls-'));
    cpSync(join(repoRoot, 'src'), join(tmp, 'src'), { recursive: true });
    for (const f of ['package.json', 'tsconfig.json', '.dependency-cruiser.cjs']) {
      cpSync(join(repoRoot, f), join(tmp, f));
    }
    symlinkSync(join(repoRoot, 'node_modules'), join(tmp, 'node_modules'));
    for (const [file, text] of Object.entries(PROBES)) {
      mkdirSync(dirname(join(tmp, file)), { recursive: true });
      writeFileSync(join(tmp, file), text);
    }
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  void it('runs as part of npm run lint', () => {
    assert.match(pkg.scripts.lint ?? '', /npm run lint:walls/);
  });

  void it('passes on the real tree', () => {
    const { status, output } = runWalls(repoRoot);
    assert.equal(status, 0, output);
    assert.match(output, /no dependency violations found/);
  });

  void it('fails on each broken wall and on a cycle, naming the rule and the files', () => {
    const { status, output } = runWalls(tmp);
    assert.notEqual(status, 0, output);
    for (const [rule, from, to] of EXPECTED) {
      assert.ok(output.includes(`error ${rule}: ${from} → `), `${rule} not reported for ${from}:\n${output}`);
      assert.ok(output.includes(to), `${to} not named:\n${output}`);
    }
    assert.match(
      output,
      new RegExp(`x ${EXPECTED.length} dependency violations \\(${EXPECTED.length} errors`),
    );
  });
});
