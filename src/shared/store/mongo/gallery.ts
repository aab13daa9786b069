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
      projection: { _id: 0, template_id: 1, user_id: 1, embedding: 1 },
    })
    .toArray();
  return templates.flatMap((t) => {
    const u = byId.get(t.user_id);
    return u
      ? [
          {
            user_id: u.user_id,
            name: u.name,
            group: u.group,
            template_id: t.template_id,
            embedding: fromBinary(t.embedding),
          },
        ]
      : [];
  });
}

/**
 * Templates after the cursor, joined with their users in the same pipeline before the limit:
 * the same inner join, page by page, as SQLite's (a template whose user is gone is skipped, not
 * counted). Uses the template_id index for the match and sort, users' user_id index for the join.
 */
export async function galleryPage(
  cols: Collections,
  q: { cursor?: string; limit: number },
): Promise<Page<GalleryEntry>> {
  const rows = await cols.templates
    .aggregate<{
      template_id: string;
      embedding: Binary;
      user: Pick<UserDoc, 'user_id' | 'name' | 'group'>;
    }>([
      { $match: { template_id: { $gt: decodeCursor(q.cursor) ?? '' } } },
      { $sort: { template_id: 1 } },
      { $lookup: { from: 'users', localField: 'user_id', foreignField: 'user_id', as: 'user' } },
      { $unwind: '$user' },
      { $limit: q.limit + 1 },
      {
        $project: {
          _id: 0,
          template_id: 1,
          embedding: 1,
          'user.user_id': 1,
          'user.name': 1,
          'user.group': 1,
        },
      },
    ])
    .toArray();
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    items: page.map((r) => ({
      user_id: r.user.user_id,
      name: r.user.name,
      group: r.user.group,
      template_id: r.template_id,
      embedding: fromBinary(r.embedding),
    })),
    next_cursor: rows.length > q.limit && last ? encodeCursor(last.template_id) : null,
  };
}

export async function userTemplates(cols: Collections, userId: string): Promise<GalleryEntry[]> {
  const user = await cols.users.findOne({ user_id: userId }, NO_ID);
  if (!user) return [];
  const templates = await cols.templates
    .find({ user_id: userId }, { projection: { _id: 0, template_id: 1, embedding: 1 } })
    .sort({ template_id: 1 })
    .toArray();
  return templates.map((t) => ({
    user_id: user.user_id,
    name: user.name,
    group: user.group,
    template_id: t.template_id,
    embedding: fromBinary(t.embedding),
  }));
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
