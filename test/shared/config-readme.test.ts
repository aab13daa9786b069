/**
 * The README's settings table is the schema's: written by `npm run docs:config` and current, it
 * lists exactly the variables the env schema reads, once each, and every default it shows is the
 * value loadConfig uses when the variable is unset.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/shared/config.js';
import { envSchema, settingsOf } from '../../src/shared/config/setting.js';
import { SETTINGS } from '../../src/shared/config/settings.js';
import { TABLE_END, TABLE_START, withSettingsTable } from '../../src/shared/config/readme-table.js';
import { repoRoot } from '../helpers/faces.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

/** The table's rows as the README has them: [variable, default as shown]. */
function readmeRows(): [string, string][] {
  const section = readme.slice(readme.indexOf(TABLE_START), readme.indexOf(TABLE_END));
  return [...section.matchAll(/^\| `([A-Z0-9_]+)` \| (.+?) \| .+ \|$/gm)].map((m) => [
    m[1] ?? '',
    m[2] ?? '',
  ]);
}

/** A shown default turned back into the environment value it stands for. */
function envValueOf(shown: string): string | undefined {
  if (shown === '(none)') return undefined;
  if (shown === 'CPU cores') return String(availableParallelism());
  if (shown === '2 x `POOL_SIZE`') return String(2 * availableParallelism());
  const mib = /^(\d+) MiB$/.exec(shown);
  if (mib) return String(Number(mib[1]) * 1024 * 1024);
  const code = /^`(.*)`$/.exec(shown);
  if (code) return code[1]?.startsWith('./') ? resolve(repoRoot, code[1]) : code[1];
  assert.match(shown, /^[\d,.]+$/, `a default the test can read: ${shown}`);
  return shown.replaceAll(',', '');
}

describe('README settings table', () => {
  it('is what `npm run docs:config` writes (run it after changing src/shared/config/settings.ts)', () => {
    assert.equal(readme, withSettingsTable(readme));
  });

  it('lists exactly the variables the schema reads, once each', () => {
    const listed = readmeRows().map(([name]) => name);
    assert.deepEqual([...listed].sort(), Object.keys(envSchema(SETTINGS).shape).sort());
    assert.equal(new Set(listed).size, listed.length, 'no variable listed twice');
  });

  it('shows, for each variable, the value used when it is unset', () => {
    const defaults = loadConfig({});
    for (const [name, shown] of readmeRows()) {
      const value = envValueOf(shown);
      if (value === undefined) {
        // (none): an optional variable (no default at all), or a list that is empty when unset.
        const optional = settingsOf(SETTINGS).find((s) => s.env === name)?.default === undefined;
        if (!optional) assert.deepStrictEqual(loadConfig({ [name]: '' }), defaults, name);
        continue;
      }
      assert.deepStrictEqual(loadConfig({ [name]: value }), defaults, `${name}=${value}`);
    }
  });
});
