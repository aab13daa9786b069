#!/usr/bin/env node
// `npm run docs:config`: rewrites the settings table in README.md (between its markers) from
// src/shared/config/settings.ts, the one place settings are declared. test/shared/config-readme
// fails when the README is not current.
import { readFileSync, writeFileSync } from 'node:fs';
import { withSettingsTable } from '../dist/src/shared/config/readme-table.js';

const path = new URL('../README.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = withSettingsTable(before);
if (after === before) console.log('README.md settings table: already current');
else {
  writeFileSync(path, after);
  console.log('README.md settings table: rewritten');
}
