/**
 * The parts of `shelia enroll` that need no service: reading folders and manifests, chunking
 * and idempotency keys, request bodies, the report, options, progress, the state file and the
 * HTTP client's retries (against a throwaway local server). Photos are tiny synthetic images.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { chunkBody, chunkKey, makeChunks } from '../../src/cli/chunks.js';
import { ApiClient, ApiError } from '../../src/cli/client.js';
import { CliError } from '../../src/cli/errors.js';
import { defaultReportName, parseEnrollArgs } from '../../src/cli/options.js';
import { Progress } from '../../src/cli/progress.js';
import {
  csvField,
  formatSummary,
  reportCsv,
  summarise,
  writeReport,
  type ReportRow,
} from '../../src/cli/report.js';
import {
  readFolderSource,
  readManifestSource,
  readSource,
  sanitiseUserId,
  type Person,
} from '../../src/cli/sources.js';
import { RunState } from '../../src/cli/state.js';
import { parseCsv } from '../../src/shared/csv.js';

/** A tiny solid-colour image (not a face): each seed gives different bytes. */
async function image(seed: number, format: 'png' | 'jpeg' | 'webp' = 'png'): Promise<Buffer> {
  const background = { r: (seed * 37) % 256, g: (seed * 91) % 256, b: (seed * 13) % 256 };
  return sharp({ create: { width: 8, height: 8, channels: 3, background } })
    .toFormat(format)
    .toBuffer();
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const ids = (people: Person[]) => people.map((p) => p.user_id);
const find = (people: Person[], name: string) => {
  const p = people.find((x) => x.name === name);
  assert.ok(p, `no person named ${name}`);
  return p;
};

let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'shelia-cli-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function put(path: string, bytes: Buffer | string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, bytes);
}

describe('folder source', () => {
  let dir: string;
  before(async () => {
    dir = join(tmp, 'folder');
    await put(join(dir, 'Ann Lee', 'b.png'), await image(1));
    await put(join(dir, 'Ann Lee', 'a.JPG'), await image(2, 'jpeg'));
    await put(join(dir, 'Ann Lee', 'notes.txt'), 'not a photo');
    await put(join(dir, 'José García', 'one.webp'), await image(3, 'webp'));
    await put(join(dir, 'Empty', 'readme.txt'), 'nothing here');
    for (let i = 0; i < 11; i++) await put(join(dir, 'Many', `${i}.png`), await image(10 + i));
    await put(join(dir, 'Bob Ray', '1.png'), await image(30));
    await put(join(dir, 'Bob_Ray', '1.png'), await image(31));
    await put(join(dir, '李小龍', '1.png'), await image(32));
    await put(join(dir, '.hidden', '1.png'), await image(33));
    await put(join(dir, 'stray.jpg'), await image(34, 'jpeg'));
    await symlink(join(tmp, 'does-not-exist'), join(dir, 'Dangling'));
  });

  it('makes one person per sub-folder: display name as is, user_id sanitised, photos sorted', async () => {
    const { people } = await readFolderSource(dir, { group: 'staff' });
    assert.deepEqual(ids(people), ['Ann_Lee', 'Bob_Ray', 'Bob_Ray', 'Empty', 'Jose_Garcia', 'Many', '_']);
    const ann = find(people, 'Ann Lee');
    assert.equal(ann.user_id, 'Ann_Lee');
    assert.equal(ann.group, 'staff');
    assert.equal(ann.problem, undefined);
    assert.deepEqual(
      ann.photos.map((p) => p.path),
      [join(dir, 'Ann Lee', 'a.JPG'), join(dir, 'Ann Lee', 'b.png')],
    );
    const bytes = await readFile(join(dir, 'Ann Lee', 'b.png'));
    assert.deepEqual(ann.photos[1], {
      path: join(dir, 'Ann Lee', 'b.png'),
      sha256: sha(bytes),
      bytes: bytes.length,
    });
    assert.equal(find(people, 'José García').photos.length, 1);
  });

  it('records local problems on the person instead of failing the run', async () => {
    const { people } = await readFolderSource(dir);
    const problem = (name: string) => find(people, name).problem?.outcome;
    assert.equal(problem('Empty'), 'NO_PHOTOS');
    assert.equal(problem('Many'), 'TOO_MANY_PHOTOS');
    assert.equal(problem('Bob Ray'), 'DUPLICATE_USER_ID');
    assert.equal(problem('Bob_Ray'), 'DUPLICATE_USER_ID');
    assert.equal(problem('李小龍'), 'INVALID_USER_ID');
    assert.equal(problem('José García'), undefined);
  });

  it('warns about photos outside a person folder and unreadable entries; skips hidden ones', async () => {
    const { people, warnings } = await readFolderSource(dir);
    assert.ok(!people.some((p) => p.name === '.hidden'));
    assert.ok(
      warnings.some((w) => w.startsWith('stray.jpg:')),
      warnings.join('\n'),
    );
    assert.ok(
      warnings.some((w) => w.includes('Dangling') && w.includes('ENOENT')),
      warnings.join('\n'),
    );
  });

  it('sanitises names to the user_id alphabet', () => {
    assert.equal(sanitiseUserId('  Ann  Lee '), 'Ann_Lee');
    assert.equal(sanitiseUserId("O'Brien, Pat (HR)"), 'O_Brien_Pat_HR_');
    assert.equal(sanitiseUserId('Zoë Ångström'), 'Zoe_Angstrom');
    assert.equal(sanitiseUserId('a.b@c:d-e_f'), 'a.b@c:d-e_f');
    assert.equal(sanitiseUserId('x'.repeat(200)).length, 128);
  });
});

describe('CSV manifest source', () => {
  let dir: string;
  before(async () => {
    dir = join(tmp, 'manifest');
    for (const [i, f] of ['a.png', 'b.png', 'c.png', 'd.png'].entries())
      await put(join(dir, 'photos', f), await image(40 + i));
    await put(
      join(dir, 'people.csv'),
      [
        'user_id,name,path,group',
        'u1,"Doe, John",photos/a.png,',
        'u2,Jane,photos/b.png,night-shift',
        'u1,"Doe, John",photos/c.png,',
        'bad id,Bad,photos/a.png,',
        'u3,Gone,photos/missing.png,',
        'u4,Max,photos/d.png,',
        'u4,Maxine,photos/a.png,',
        `u5,Abs,${join(dir, 'photos', 'd.png')},`,
      ].join('\r\n'),
    );
  });

  it('groups rows by user_id in first-appearance order, paths relative to the CSV', async () => {
    const { people } = await readManifestSource(join(dir, 'people.csv'), { group: 'default' });
    assert.deepEqual(ids(people), ['u1', 'u2', 'bad id', 'u3', 'u4', 'u5']);
    const u1 = people[0] as Person;
    assert.equal(u1.name, 'Doe, John');
    assert.equal(u1.group, 'default');
    assert.deepEqual(
      u1.photos.map((p) => p.path),
      [join(dir, 'photos', 'a.png'), join(dir, 'photos', 'c.png')],
    );
    assert.equal(u1.problem, undefined);
    assert.equal(people[1]?.group, 'night-shift', 'the group column wins over --group');
    assert.equal(people[5]?.photos[0]?.path, join(dir, 'photos', 'd.png'), 'absolute paths are kept');
  });

  it('records invalid ids, missing files and conflicting rows as problems', async () => {
    const { people } = await readManifestSource(join(dir, 'people.csv'));
    const byId = new Map(people.map((p) => [p.user_id, p.problem?.outcome]));
    assert.equal(byId.get('bad id'), 'INVALID_USER_ID');
    assert.equal(byId.get('u3'), 'FILE_NOT_FOUND');
    assert.equal(byId.get('u4'), 'CONFLICTING_ROWS');
    assert.equal(byId.get('u1'), undefined);
  });

  it('refuses a manifest without the required columns', async () => {
    await put(join(dir, 'bad.csv'), 'id,name,file\nu1,A,photos/a.png\n');
    await assert.rejects(readManifestSource(join(dir, 'bad.csv')), (err: unknown) => {
      assert.ok(err instanceof CliError);
      assert.match(err.message, /missing column user_id: expected a header user_id,name,path\[,group\]/);
      return true;
    });
    await put(join(dir, 'file-column.csv'), 'user_id,name,file\nu1,A,photos/a.png\n');
    const { people } = await readManifestSource(join(dir, 'file-column.csv'));
    assert.equal(people[0]?.photos.length, 1, 'a "file" column works like "path"');
  });

  it('readSource reads a directory as a folder and a file as a manifest', async () => {
    assert.deepEqual(ids((await readSource(join(dir, 'photos'))).people), []);
    assert.equal((await readSource(join(dir, 'people.csv'))).people.length, 6);
    await assert.rejects(readSource(join(dir, 'nope')), CliError);
  });
});

describe('chunks and idempotency keys', () => {
  let dir: string;
  before(async () => {
    dir = join(tmp, 'chunks');
    for (let i = 0; i < 7; i++) await put(join(dir, `Person ${i}`, 'p.png'), await image(60 + i));
    await put(join(dir, 'Person 3', 'q.png'), await image(70));
    await put(join(dir, 'Nobody', 'x.txt'), 'no photos');
  });

  it('splits the uploadable people into runs of --chunk, skipping people with problems', async () => {
    const { people } = await readFolderSource(dir);
    const chunks = makeChunks(people, { size: 3, mode: 'add' });
    assert.deepEqual(
      chunks.map((c) => c.people.length),
      [3, 3, 1],
    );
    assert.deepEqual(
      chunks.map((c) => c.index),
      [0, 1, 2],
    );
    assert.ok(!chunks.some((c) => c.people.some((p) => p.name === 'Nobody')));
    assert.deepEqual(
      ids(chunks.flatMap((c) => c.people)),
      [0, 1, 2, 3, 4, 5, 6].map((i) => `Person_${i}`),
    );
  });

  it('also cuts a chunk when its photos pass the byte limit', async () => {
    const { people } = await readFolderSource(dir);
    const perPerson = people[1]?.photos[0]?.bytes ?? 0;
    const chunks = makeChunks(people, { size: 50, mode: 'add', maxBytes: perPerson * 2 });
    assert.ok(chunks.length > 1);
    assert.ok(chunks.every((c) => c.people.length <= 2));
  });

  it('gives the same content the same key, on every read of the folder', async () => {
    const first = makeChunks((await readFolderSource(dir)).people, { size: 3, mode: 'add' });
    const again = makeChunks((await readFolderSource(dir)).people, { size: 3, mode: 'add' });
    assert.deepEqual(
      first.map((c) => c.key),
      again.map((c) => c.key),
    );
    assert.equal(new Set(first.map((c) => c.key)).size, 3);
    assert.match(first[0]?.key ?? '', /^shelia-enroll-v1-[0-9a-f]{64}$/);
    assert.ok((first[0]?.key.length ?? 0) <= 255, 'the API takes keys of at most 255 characters');
  });

  it('changes the key of exactly the chunk whose photo changed', async () => {
    const before = makeChunks((await readFolderSource(dir)).people, { size: 3, mode: 'add' });
    await writeFile(join(dir, 'Person 4', 'p.png'), await image(99));
    const after = makeChunks((await readFolderSource(dir)).people, { size: 3, mode: 'add' });
    assert.equal(after[0]?.key, before[0]?.key);
    assert.notEqual(after[1]?.key, before[1]?.key);
    assert.equal(after[2]?.key, before[2]?.key);
  });

  it('changes the key with the mode, the group, the name or the photo order', async () => {
    const { people } = await readFolderSource(dir);
    const some = people.slice(0, 3);
    const key = chunkKey(some, 'add');
    assert.notEqual(chunkKey(some, 'replace'), key);
    assert.notEqual(chunkKey([{ ...some[0]!, group: 'g' }, ...some.slice(1)], 'add'), key);
    assert.notEqual(chunkKey([{ ...some[0]!, name: 'Renamed' }, ...some.slice(1)], 'add'), key);
    assert.notEqual(chunkKey([...some].reverse(), 'add'), key);
    const p3 = people.find((p) => p.name === 'Person 3')!;
    assert.notEqual(chunkKey([{ ...p3, photos: [...p3.photos].reverse() }], 'add'), chunkKey([p3], 'add'));
  });

  it('builds the same JSON body every time: base64 images, group and mode', async () => {
    const { people } = await readFolderSource(dir, { group: 'g1' });
    const [chunk] = makeChunks(people, { size: 50, mode: 'replace' });
    assert.ok(chunk);
    const body = await chunkBody(chunk);
    assert.equal(await chunkBody(chunk), body);
    const parsed = JSON.parse(body) as {
      items: { user_id: string; name: string; images: string[]; group: string }[];
      options: { mode: string };
    };
    assert.deepEqual(parsed.options, { mode: 'replace' });
    assert.equal(parsed.items.length, 7);
    const p3 = parsed.items.find((i) => i.user_id === 'Person_3');
    assert.equal(p3?.name, 'Person 3');
    assert.equal(p3?.group, 'g1');
    assert.deepEqual(
      p3?.images.map((b) => Buffer.from(b, 'base64')),
      [await readFile(join(dir, 'Person 3', 'p.png')), await readFile(join(dir, 'Person 3', 'q.png'))],
    );
  });

  it('refuses to send a photo that changed after it was hashed', async () => {
    const { people } = await readFolderSource(dir);
    const [chunk] = makeChunks(people, { size: 50, mode: 'add' });
    assert.ok(chunk);
    await writeFile(join(dir, 'Person 0', 'p.png'), await image(123));
    await assert.rejects(chunkBody(chunk), /changed during the run/);
  });
});

describe('report', () => {
  const rows: ReportRow[] = [
    { user_id: 'u1', name: 'Doe, John', outcome: 'ENROLLED', ok: true, error: '', job_id: 'job_1' },
    {
      user_id: 'u2',
      name: 'Jane "JJ" Roe',
      outcome: 'NO_FACE_DETECTED',
      ok: false,
      error: 'no face\nin the photo',
      job_id: 'job_1',
    },
    { user_id: 'u3', name: 'Max', outcome: 'UPDATED', ok: true, error: '', job_id: 'job_2' },
    { user_id: 'u4', name: 'Al', outcome: 'NO_FACE_DETECTED', ok: false, error: 'x\r', job_id: 'job_2' },
    { user_id: 'u5', name: 'Bo', outcome: 'NO_PHOTOS', ok: false, error: 'none', job_id: '' },
  ];

  it('quotes fields with commas, quotes and line breaks (RFC 4180)', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField('cr\r'), '"cr\r"');
    assert.equal(csvField(''), '');
  });

  it('writes a CSV that parses back to the same rows', () => {
    const csv = reportCsv(rows);
    const [header, ...back] = parseCsv(csv);
    assert.deepEqual(header, ['user_id', 'name', 'outcome', 'ok', 'error', 'job_id']);
    assert.deepEqual(
      back,
      rows.map((r) => [r.user_id, r.name, r.outcome, String(r.ok), r.error, r.job_id]),
    );
  });

  it('summarises enrolled, updated and failed by reason', () => {
    const s = summarise(rows);
    assert.deepEqual(s, {
      total: 5,
      enrolled: 1,
      updated: 1,
      failed: 3,
      failedBy: [
        ['NO_FACE_DETECTED', 2],
        ['NO_PHOTOS', 1],
      ],
    });
    assert.equal(
      formatSummary(s),
      'enrolled: 1\nupdated: 1\nfailed: 3\n  NO_FACE_DETECTED: 2\n  NO_PHOTOS: 1',
    );
  });

  it('writes JSON when the file name ends in .json, CSV otherwise', async () => {
    await writeReport(join(tmp, 'r.json'), rows, { jobs: ['job_1', 'job_2'] });
    const json = JSON.parse(await readFile(join(tmp, 'r.json'), 'utf8')) as {
      jobs: string[];
      summary: { failed: number; failed_by: Record<string, number> };
      items: ReportRow[];
    };
    assert.deepEqual(json.items, rows);
    assert.deepEqual(json.jobs, ['job_1', 'job_2']);
    assert.deepEqual(json.summary.failed_by, { NO_FACE_DETECTED: 2, NO_PHOTOS: 1 });
    await writeReport(join(tmp, 'r.csv'), rows);
    assert.equal(await readFile(join(tmp, 'r.csv'), 'utf8'), reportCsv(rows));
  });
});

describe('options', () => {
  const now = new Date('2024-05-01T12:30:00.123Z');

  it('has the documented defaults, from the environment where given', () => {
    const o = parseEnrollArgs(['people'], {}, now, '/work');
    assert.deepEqual(o, {
      source: '/work/people',
      server: 'http://127.0.0.1:8000',
      chunk: 50,
      report: '/work/enroll-report-2024-05-01T12-30-00Z.csv',
      state: '/work/enroll-report-2024-05-01T12-30-00Z.csv.state.json',
      mode: 'add',
    });
    const e = parseEnrollArgs(['p'], { SHELIA_URL: 'http://h:1', SHELIA_API_KEY: 'k' }, now, '/w');
    assert.ok(e !== 'help');
    assert.equal(e.server, 'http://h:1');
    assert.equal(e.apiKey, 'k');
    assert.equal(defaultReportName(now), 'enroll-report-2024-05-01T12-30-00Z.csv');
  });

  it('takes every flag; flags win over the environment', () => {
    const o = parseEnrollArgs(
      [
        'm.csv',
        '--group=g',
        '--server',
        'https://s',
        '--key',
        'K',
        '--chunk',
        '7',
        '--report',
        'out.json',
        '--mode',
        'replace',
        '--state',
        's.json',
      ],
      { SHELIA_URL: 'http://env', SHELIA_API_KEY: 'envkey' },
      now,
      '/w',
    );
    assert.deepEqual(o, {
      source: '/w/m.csv',
      group: 'g',
      server: 'https://s',
      apiKey: 'K',
      chunk: 7,
      report: '/w/out.json',
      state: '/w/s.json',
      mode: 'replace',
    });
  });

  it('refuses bad command lines with a CliError', () => {
    for (const argv of [
      [],
      ['a', 'b'],
      ['a', '--chunk', '0'],
      ['a', '--chunk', '1.5'],
      ['a', '--chunk', '5000'],
      ['a', '--mode', 'merge'],
      ['a', '--server', 'ftp://x'],
      ['a', '--bogus'],
    ]) {
      assert.throws(() => parseEnrollArgs(argv, {}), CliError, argv.join(' '));
    }
    assert.equal(parseEnrollArgs(['--help'], {}), 'help');
  });
});

describe('progress', () => {
  const stream = (isTTY: boolean) => {
    const out: string[] = [];
    return { out, isTTY, write: (s: string) => out.push(s) };
  };

  it('redraws one bar with \\r on a terminal', () => {
    const s = stream(true);
    let t = 0;
    const p = new Progress(s, 4, () => t);
    p.update({ uploaded: 4, done: 2, failed: 1 });
    t += 1000;
    p.update({ done: 4 });
    p.finish();
    assert.match(s.out[0] ?? '', /^\r\[#{12}-{12}\] 4\/4 people uploaded, 2\/4 done, 1 failed/);
    assert.match(s.out[1] ?? '', /^\r\[#{24}\] 4\/4 people uploaded, 4\/4 done, 1 failed/);
    assert.equal(s.out.at(-1), '\n');
  });

  it('writes plain lines at most every 2 s when not a terminal, and the last state at the end', () => {
    const s = stream(false);
    let t = 0;
    const p = new Progress(s, 10, () => t);
    p.update({ uploaded: 5 });
    t = 500;
    p.update({ uploaded: 10 });
    t = 2600;
    p.update({ done: 3 });
    p.update({ done: 10 });
    p.finish();
    assert.deepEqual(s.out, [
      'enroll: 5/10 people uploaded, 0/10 done, 0 failed\n',
      'enroll: 10/10 people uploaded, 3/10 done, 0 failed\n',
      'enroll: 10/10 people uploaded, 10/10 done, 0 failed\n',
    ]);
  });
});

describe('state file', () => {
  it('remembers accepted chunks per server and survives a reload', async () => {
    const path = join(tmp, 'state.json');
    const state = await RunState.load(path);
    assert.equal(state.get('k1', 'http://a'), undefined);
    const entry = { job_id: 'job_1', server: 'http://a', people: 3, accepted_at: '2024-01-01T00:00:00Z' };
    await state.set('k1', entry);
    const again = await RunState.load(path);
    assert.deepEqual(again.get('k1', 'http://a'), entry);
    assert.equal(again.get('k1', 'http://b'), undefined, 'a job of another server is not reused');
    await again.delete('k1');
    assert.equal((await RunState.load(path)).get('k1', 'http://a'), undefined);
  });

  it('ignores a file that is not a state file, with a warning', async () => {
    const path = join(tmp, 'not-state.json');
    await writeFile(path, '{"hello": 1}');
    const warnings: string[] = [];
    const state = await RunState.load(path, (m) => warnings.push(m));
    assert.equal(state.get('k', 'http://a'), undefined);
    assert.equal(warnings.length, 1);
  });
});

describe('HTTP client', () => {
  /** A server answering each request with the next scripted response. */
  async function scripted(responses: { status: number; body: unknown; headers?: Record<string, string> }[]) {
    const seen: IncomingMessage[] = [];
    const server = createServer((req, res) => {
      seen.push(req);
      req.resume();
      const next = responses.shift() ?? { status: 500, body: { error: 'script ended', error_code: 'X' } };
      res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
      res.end(JSON.stringify(next.body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  const accepted = { job_id: 'job_x', status_url: '/api/v1/jobs/job_x', items: 2 };
  const unavailable = { status: 503, body: { error: 'busy', error_code: 'SERVICE_UNAVAILABLE' } };

  it('retries 503 with backoff and sends the key headers on every attempt', async () => {
    const s = await scripted([unavailable, unavailable, { status: 202, body: accepted }]);
    try {
      const client = new ApiClient({ baseUrl: `${s.url}/`, apiKey: 'secret', backoffMs: 1 });
      const res = await client.enroll('{"items":[]}', 'key-1');
      assert.deepEqual(res, { accepted, replayed: false });
      assert.equal(s.seen.length, 3);
      for (const req of s.seen) {
        assert.equal(req.method, 'POST');
        assert.equal(req.url, '/api/v1/enrollments');
        assert.equal(req.headers['x-api-key'], 'secret');
        assert.equal(req.headers['idempotency-key'], 'key-1');
      }
    } finally {
      await s.close();
    }
  });

  it('reports a replayed response', async () => {
    const s = await scripted([{ status: 202, body: accepted, headers: { 'idempotent-replayed': 'true' } }]);
    try {
      const res = await new ApiClient({ baseUrl: s.url }).enroll('{}', 'k');
      assert.equal(res.replayed, true);
    } finally {
      await s.close();
    }
  });

  it('turns a 4xx into an ApiError with the error_code, without retrying', async () => {
    const s = await scripted([{ status: 401, body: { error: 'no key', error_code: 'UNAUTHORIZED' } }]);
    try {
      await assert.rejects(new ApiClient({ baseUrl: s.url, backoffMs: 1 }).job('job_1'), (err: unknown) => {
        assert.ok(err instanceof ApiError);
        assert.equal(err.status, 401);
        assert.equal(err.code, 'UNAUTHORIZED');
        return true;
      });
      assert.equal(s.seen.length, 1);
    } finally {
      await s.close();
    }
  });

  it('gives up on a 503 after its attempts, with the last error', async () => {
    const s = await scripted([unavailable, unavailable, unavailable]);
    try {
      const client = new ApiClient({ baseUrl: s.url, backoffMs: 1, attempts: 3 });
      await assert.rejects(client.job('job_1'), { name: 'ApiError', code: 'SERVICE_UNAVAILABLE' });
      assert.equal(s.seen.length, 3);
    } finally {
      await s.close();
    }
  });

  it('pages results with cursor and limit', async () => {
    const s = await scripted([
      {
        status: 200,
        body: { items: [{ index: 0, ref: 'a', outcome: 'ENROLLED', ok: true }], next_cursor: 'c1' },
      },
    ]);
    try {
      const page = await new ApiClient({ baseUrl: s.url }).results('job_1', 'c0');
      assert.equal(s.seen[0]?.url, '/api/v1/jobs/job_1/results?limit=1000&cursor=c0');
      assert.equal(page.next_cursor, 'c1');
      assert.equal(page.items[0]?.outcome, 'ENROLLED');
    } finally {
      await s.close();
    }
  });

  it('is a CliError (exit 2) when nothing listens', async () => {
    const s = await scripted([]);
    await s.close();
    await assert.rejects(new ApiClient({ baseUrl: s.url, backoffMs: 1 }).job('job_1'), (err: unknown) => {
      assert.ok(err instanceof CliError);
      assert.match(err.message, /cannot reach .*ECONNREFUSED/);
      return true;
    });
  });
});
