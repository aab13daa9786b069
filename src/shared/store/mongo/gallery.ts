import type { Binary } from 'mongodb';
import { decodeCursor, encodeCursor } from '../cursor.js';
import type { GalleryEntry, Page } from '../types.js';
import { NO_ID, type Collections, type UserDoc } from './collections.js';
import { fromBinary } from './encoding.js';

/** templateEmbeddings asks for at most this many ids per query. */
const IDS_PER_QUERY = 1000;

/**
 * Templates joined with their users (an inner join, as in SQLite: a template whose user is gone,
 * left by an enroll racing a delete, is not part of the gallery).
 */
export async function gallery(cols: Collections, group?: string): Promise<GalleryEntry[]> {
  const users = await cols.users
    .find(group === undefined ? {} : { group }, { projection: { _id: 0, user_id: 1, name: 1, group: 1 } })
    .toArray();
  const byId = new Map(users.map((u) => [u.user_id, u]));
  const templates = await cols.templates
    .find(group === undefined ? {} : { user_id: { $in: [...byId.keys()] } }, {
      projection: { _id: 0, template_id: 1, user_id: 1, model: 1, embedding: 1 },
    })
    .toArray();
  return templates.flatMap((t) => {
    const u = byId.get(t.user_id);
    return u ? [entry(u, t)] : [];
  });
}

/**
 * Templates after the cursor, then their users by one `$in` query: the same inner join, page by
 * page, as SQLite's (a template whose user is gone is skipped, not counted). Two queries rather
 * than `$lookup`, which FerretDB v1 does not implement; both use an index (template_id, user_id).
 */
export async function galleryPage(
  cols: Collections,
  q: { cursor?: string; limit: number },
): Promise<Page<GalleryEntry>> {
  const rows = await cols.templates
    .find(
      { template_id: { $gt: decodeCursor(q.cursor) ?? '' } },
      { projection: { _id: 0, template_id: 1, user_id: 1, model: 1, embedding: 1 } },
    )
    .sort({ template_id: 1 })
    .limit(q.limit + 1)
    .toArray();
  const page = rows.slice(0, q.limit);
  const users = await cols.users
    .find(
      { user_id: { $in: [...new Set(page.map((r) => r.user_id))] } },
      { projection: { _id: 0, user_id: 1, name: 1, group: 1 } },
    )
    .toArray();
  const byId = new Map(users.map((u) => [u.user_id, u]));
  const last = page[page.length - 1];
  return {
    items: page.flatMap((r) => {
      const u = byId.get(r.user_id);
      return u ? [entry(u, r)] : [];
    }),
    next_cursor: rows.length > q.limit && last ? encodeCursor(last.template_id) : null,
  };
}

/** FerretDB v1 leaves a null field out of a projection's result: read it back as null. */
function entry(
  u: Pick<UserDoc, 'user_id' | 'name' | 'group'>,
  t: { template_id: string; model: string; embedding: Binary },
): GalleryEntry {
  return {
    user_id: u.user_id,
    name: u.name,
    group: u.group ?? null,
    template_id: t.template_id,
    model: t.model,
    embedding: fromBinary(t.embedding),
  };
}

export async function userTemplates(cols: Collections, userId: string): Promise<GalleryEntry[]> {
  const user = await cols.users.findOne({ user_id: userId }, NO_ID);
  if (!user) return [];
  const templates = await cols.templates
    .find({ user_id: userId }, { projection: { _id: 0, template_id: 1, model: 1, embedding: 1 } })
    .sort({ template_id: 1 })
    .toArray();
  return templates.map((t) => entry(user, t));
}

export async function templateEmbeddings(
  cols: Collections,
  templateIds: string[],
): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (let i = 0; i < templateIds.length; i += IDS_PER_QUERY) {
    const docs = await cols.templates
      .find(
        { template_id: { $in: templateIds.slice(i, i + IDS_PER_QUERY) } },
        { projection: { _id: 0, template_id: 1, embedding: 1 } },
      )
      .toArray();
    for (const d of docs) out.set(d.template_id, fromBinary(d.embedding));
  }
  return out;
}
