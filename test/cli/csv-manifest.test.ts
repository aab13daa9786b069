/**
 * `shelia enroll manifest.csv` reads the CSV files people make: a space after the comma before
 * a quoted name, `;` (Excel in much of Europe) or tab delimiters, a BOM, quoted fields with
 * doubled quotes, CRLF. A wrong header is one error naming the missing column and the header
 * expected; a malformed file one error naming the file.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { CliError } from '../../src/cli/errors.js';
import { readManifestSource } from '../../src/cli/sources.js';
import { detectDelimiter, parseCsv } from '../../src/shared/csv.js';

describe('CSV manifests as people write them', () => {
  let dir: string;
  const manifest = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };
  const read = async (name: string, text: string) =>
    (await readManifestSource(await manifest(name, text))).people;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shelia-csv-'));
    await mkdir(join(dir, 'photos'));
    for (const [i, f] of ['a.png', 'b.png'].entries()) {
      const png = await sharp({
        create: { width: 8, height: 8, channels: 3, background: { r: 40 * i, g: 0, b: 0 } },
      })
        .png()
        .toBuffer();
      await writeFile(join(dir, 'photos', f), png);
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('a space after the comma does not split a quoted "Stewart, Tony"', async () => {
    const people = await read('spaces.csv', 'user_id, name, path\nu1, "Stewart, Tony", photos/a.png\n');
    assert.equal(people.length, 1);
    assert.equal(people[0]?.name, 'Stewart, Tony');
    assert.equal(people[0]?.photos.length, 1);
    assert.equal(people[0]?.problem, undefined);
  });

  it('reads a semicolon file (with a comma and a semicolon inside names)', async () => {
    const people = await read(
      'semicolon.csv',
      'user_id;name;path;group\nu1;Müller, Anna;photos/a.png;night\nu2;"Doe; John";photos/b.png;\n',
    );
    assert.deepEqual(
      people.map((p) => [p.user_id, p.name, p.group, p.photos.length]),
      [
        ['u1', 'Müller, Anna', 'night', 1],
        ['u2', 'Doe; John', undefined, 1],
      ],
    );
  });

  it('reads a tab-separated file', async () => {
    const people = await read('tabs.tsv', 'user_id\tname\tpath\nu1\tAnna Berg\tphotos/a.png\n');
    assert.deepEqual(
      people.map((p) => [p.user_id, p.name]),
      [['u1', 'Anna Berg']],
    );
  });

  it('reads a BOM, CRLF, doubled quotes and a line break inside quotes', async () => {
    const people = await read(
      'excel.csv',
      '\uFEFFuser_id,name,path\r\nu1,"Tony ""The Tiger"" Stewart",photos/a.png\r\nu2,"two\r\nlines",photos/b.png\r\n\r\n',
    );
    assert.deepEqual(
      people.map((p) => [p.user_id, p.name]),
      [
        ['u1', 'Tony "The Tiger" Stewart'],
        ['u2', 'two\r\nlines'],
      ],
    );
  });

  it('a wrong header is one error naming the missing column and the header expected', async () => {
    const path = await manifest('wrong-header.csv', 'id,full name,file\nu1,A,photos/a.png\n');
    await assert.rejects(readManifestSource(path), (err: unknown) => {
      assert.ok(err instanceof CliError, String(err));
      assert.equal(
        err.message.split(' (')[0],
        `${path}: missing column user_id, name: expected a header user_id,name,path[,group]`,
      );
      assert.match(err.message, /found id,full name,file$/);
      assert.doesNotMatch(err.message, /undefined|row 1/);
      return true;
    });
  });

  it('a semicolon file with a wrong header names what it found with its own delimiter', async () => {
    const path = await manifest('wrong-semicolon.csv', 'user_id;nom;path\nu1;A;photos/a.png\n');
    await assert.rejects(readManifestSource(path), /missing column name: .* found user_id;nom;path$/);
  });

  it('a malformed file (a quote never closed) is one error naming the file', async () => {
    const path = await manifest('broken.csv', 'user_id,name,path\nu1,"Stewart, Tony,photos/a.png\n');
    await assert.rejects(readManifestSource(path), (err: unknown) => {
      assert.ok(err instanceof CliError);
      assert.match(err.message, new RegExp(`^${path}: the CSV cannot be read: `));
      return true;
    });
  });

  it('detects the delimiter from the header, outside quotes', () => {
    assert.equal(detectDelimiter('a,b;c,d\n'), ',');
    assert.equal(detectDelimiter('"a,b";c;d\n'), ';');
    assert.equal(detectDelimiter('a\tb\n1,2\t3'), '\t');
    assert.equal(detectDelimiter('single\n'), ',');
    assert.deepEqual(parseCsv('x; y\n1; "2; 3"\n'), [
      ['x', 'y'],
      ['1', '2; 3'],
    ]);
  });
});
