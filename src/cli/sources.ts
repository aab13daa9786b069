/**
 * Where the people to enroll come from: a folder with one sub-folder per person, or a CSV
 * manifest with one row per photo. Both produce the same `Person` list, with the photos
 * hashed (for the idempotency key) but not kept in memory, and with local problems (no photos,
 * an unusable user_id, ...) recorded on the person instead of stopping the run.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { csvRecords } from '../shared/csv.js';
import { ServiceError } from '../shared/errors.js';
import { EnrollmentItemFields } from '../shared/schemas.js';
import { CliError } from './errors.js';

export interface Photo {
  path: string;
  sha256: string;
  bytes: number;
}

export interface Person {
  user_id: string;
  name: string;
  group?: string;
  photos: Photo[];
  /** Why this person is not uploaded (reported with this outcome); unset when uploadable. */
  problem?: { outcome: string; error: string };
}

export interface Source {
  people: Person[];
  /** Things skipped that the user may want to know about (stray files, ...). */
  warnings: string[];
}

export const PHOTO_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);
/** The API takes at most this many photos per person (EnrollmentItem.images). */
export const MAX_PHOTOS = 10;
const MAX_NAME = 256;

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const isPhotoFile = (file: string) => PHOTO_EXTENSIONS.has(extname(file).toLowerCase());

export function isValidUserId(id: string): boolean {
  return EnrollmentItemFields.shape.user_id.safeParse(id).success;
}

/**
 * A folder name as a user_id: accents dropped, every run of characters outside
 * [A-Za-z0-9_.@:-] (spaces included) replaced by one `_`, at most 128 characters.
 */
export function sanitiseUserId(name: string): string {
  return name
    .trim()
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[^A-Za-z0-9_.@:-]+/g, '_')
    .slice(0, 128);
}

export async function hashPhoto(path: string): Promise<Photo> {
  const bytes = await readFile(path);
  return { path, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
}

/** `fn` over `items` with at most `limit` in flight, results in input order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}

/**
 * Directory entries with symlinks followed, sorted by name. Hidden entries are skipped, and so
 * are ones that cannot be read (a dangling symlink), with a warning.
 */
async function entries(
  dir: string,
  warnings: string[],
): Promise<{ name: string; path: string; isDir: boolean }[]> {
  const names = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort(byCodeUnit);
  const found = await Promise.all(
    names.map(async (name) => {
      const path = join(dir, name);
      const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
        warnings.push(`${path}: skipped (${err.code ?? err.message})`);
        return undefined;
      });
      return info ? { name, path, isDir: info.isDirectory() } : undefined;
    }),
  );
  return found.filter((e) => e !== undefined);
}

/** The common checks of both sources: photo count, name length, user_id shape and clashes. */
function checkPeople(people: Person[]): void {
  const owners = new Map<string, Person[]>();
  for (const p of people) owners.set(p.user_id, [...(owners.get(p.user_id) ?? []), p]);
  for (const p of people) {
    if (p.problem) continue;
    const clash = owners.get(p.user_id) ?? [];
    if (!isValidUserId(p.user_id) || !/[A-Za-z0-9]/.test(p.user_id)) {
      p.problem = {
        outcome: 'INVALID_USER_ID',
        error: `"${p.user_id}" is not a usable user_id (1-128 of A-Z a-z 0-9 _ . @ : -)`,
      };
    } else if (clash.length > 1) {
      p.problem = {
        outcome: 'DUPLICATE_USER_ID',
        error: `user_id ${p.user_id} is shared by: ${clash.map((c) => c.name).join(', ')}`,
      };
    } else if (p.name.length === 0 || p.name.length > MAX_NAME) {
      p.problem = { outcome: 'INVALID_NAME', error: `the name must be 1-${MAX_NAME} characters` };
    } else if (p.photos.length === 0) {
      p.problem = { outcome: 'NO_PHOTOS', error: 'no .jpg, .jpeg, .png or .webp photo' };
    } else if (p.photos.length > MAX_PHOTOS) {
      p.problem = {
        outcome: 'TOO_MANY_PHOTOS',
        error: `${p.photos.length} photos; the API takes at most ${MAX_PHOTOS} per person`,
      };
    }
  }
}

/**
 * A folder with one sub-folder per person: the sub-folder's name is the display name, its
 * sanitised form the user_id, and its photos (sorted by file name) the person's images.
 */
export async function readFolderSource(dir: string, options: { group?: string } = {}): Promise<Source> {
  const warnings: string[] = [];
  const people: Person[] = [];
  for (const entry of await entries(dir, warnings)) {
    if (!entry.isDir) {
      if (isPhotoFile(entry.name)) warnings.push(`${entry.name}: photos must be in a sub-folder per person`);
      continue;
    }
    const files = (await entries(entry.path, warnings)).filter((f) => !f.isDir && isPhotoFile(f.name));
    people.push({
      user_id: sanitiseUserId(entry.name),
      name: entry.name,
      ...(options.group ? { group: options.group } : {}),
      photos: await mapLimit(
        files.map((f) => f.path),
        8,
        hashPhoto,
      ),
    });
  }
  checkPeople(people);
  return { people, warnings };
}

/**
 * A CSV manifest `user_id,name,path[,group]` (`file` is accepted for `path`), one row per
 * photo, paths relative to the CSV's folder. Rows of one user_id become one person, in the
 * order the user_id first appears. A `group` cell wins over `options.group`.
 */
export async function readManifestSource(csvPath: string, options: { group?: string } = {}): Promise<Source> {
  const text = await readFile(csvPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read ${csvPath}: ${err.code ?? err.message}`);
  });
  let rows: Record<string, string>[];
  try {
    rows = csvRecords(text, MANIFEST_COLUMNS);
  } catch (err) {
    // A malformed file or a wrong header: one line naming the file and what is wrong.
    if (err instanceof ServiceError) throw new CliError(`${csvPath}: ${err.message}`);
    throw err;
  }
  if (rows.length === 0) throw new CliError(`${csvPath}: no rows after the header user_id,name,path[,group]`);
  const pathColumn = 'path' in (rows[0] ?? {}) ? 'path' : 'file';
  const base = dirname(resolve(csvPath));
  const byUser = new Map<string, { person: Person; paths: string[] }>();
  for (const [n, row] of rows.entries()) {
    const user_id = row.user_id ?? '';
    const name = row.name ?? '';
    const file = row[pathColumn] ?? '';
    const group = row.group || options.group;
    let entry = byUser.get(user_id);
    if (!entry) {
      entry = { person: { user_id, name, ...(group ? { group } : {}), photos: [] }, paths: [] };
      byUser.set(user_id, entry);
    } else if (!entry.person.problem && (entry.person.name !== name || entry.person.group !== group)) {
      entry.person.problem = {
        outcome: 'CONFLICTING_ROWS',
        error: `row ${n + 1} gives user_id ${user_id} another name or group than its first row`,
      };
    }
    if (!file && !entry.person.problem)
      entry.person.problem = { outcome: 'FILE_NOT_FOUND', error: `row ${n + 1} has no path` };
    if (file) entry.paths.push(isAbsolute(file) ? file : resolve(base, file));
  }
  const people = [...byUser.values()].map(({ person }) => person);
  await mapLimit([...byUser.values()], 8, async ({ person, paths }) => {
    for (const path of paths) {
      const photo = await hashPhoto(path).catch((err: NodeJS.ErrnoException) => {
        person.problem ??= { outcome: 'FILE_NOT_FOUND', error: `${path}: ${err.code ?? err.message}` };
        return undefined;
      });
      if (photo) person.photos.push(photo);
    }
  });
  checkPeople(people);
  return { people, warnings: [] };
}

const MANIFEST_COLUMNS = {
  required: [['user_id'], ['name'], ['path', 'file']],
  expected: 'user_id,name,path[,group] (`file` for `path`; `,` `;` or tab between columns)',
} as const;

/** A directory is read as a folder source, anything else as a CSV manifest. */
export async function readSource(path: string, options: { group?: string } = {}): Promise<Source> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new CliError(`${path} does not exist`);
  return info.isDirectory() ? readFolderSource(path, options) : readManifestSource(path, options);
}
