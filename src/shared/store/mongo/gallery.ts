import type { Binary } from 'mongodb';
import { byId, keysetPage } from '../cursor.js';
import type { UserRepository } from '../repositories/users.js';
import type { GalleryEntry, Page } from '../types.js';
import { NO_ID, type Collections, type TemplateDoc, type UserDoc } from './collections.js';
import { fromBinary } from './encoding.js';

/** templateEmbeddings asks for at most this many ids per query. */
const IDS_PER_QUERY = 1000;
const TEMPLATES = byId((t: TemplateDoc) => t.template_id);

/** The gallery reads of the user repository. */
export type GalleryReads = Pick<
  UserRepository,
  'gallery' | 'galleryPage' | 'userTemplates' | 'templateEmbeddings'
>;

export function mongoGallery(cols: Collections): GalleryReads {
  return {
    /**
     * Templates joined with their users (an inner join, as in SQLite: a template whose user is gone,
     * left by an enroll racing a delete, is not part of the gallery).
     */
    async gallery(group?: string): Promise<GalleryEntry[]> {
      const users = await cols.users
        .find(group === undefined ? {} : { group }, { projection: { _id: 0, user_id: 1, name: 1, group: 1 } })
        .toArray();
      const byUser = new Map(users.map((u) => [u.user_id, u]));
      const templates = await cols.templates
        .find(group === undefined ? {} : { user_id: { $in: [...byUser.keys()] } }, {
          projection: { _id: 0, template_id: 1, user_id: 1, model: 1, embedding: 1 },
        })
        .toArray();
      return templates.flatMap((t) => {
        const u = byUser.get(t.user_id);
        return u ? [entry(u, t)] : [];
      });
    },

    /**
     * Templates after the cursor, then their users by one `$in` query: the same inner join, page by
     * page, as SQLite's (a template whose user is gone is skipped, not counted). Two queries rather
     * than `$lookup`, which FerretDB v1 does not implement; both use an index (template_id, user_id).
     */
    async galleryPage(q: { cursor?: string; limit: number }): Promise<Page<GalleryEntry>> {
      return keysetPage(
        q,
        TEMPLATES,
        (after = '', limit) =>
          cols.templates
            .find(
              { template_id: { $gt: after } },
              { projection: { _id: 0, template_id: 1, user_id: 1, model: 1, embedding: 1 } },
            )
            .sort({ template_id: 1 })
            .limit(limit)
            .toArray(),
        async (page) => {
          const users = await cols.users
            .find(
              { user_id: { $in: [...new Set(page.map((r) => r.user_id))] } },
              { projection: { _id: 0, user_id: 1, name: 1, group: 1 } },
            )
            .toArray();
          const byUser = new Map(users.map((u) => [u.user_id, u]));
          return page.flatMap((r) => {
            const u = byUser.get(r.user_id);
            return u ? [entry(u, r)] : [];
          });
        },
      );
    },

    async userTemplates(userId: string): Promise<GalleryEntry[]> {
      const user = await cols.users.findOne({ user_id: userId }, NO_ID);
      if (!user) return [];
      const templates = await cols.templates
        .find({ user_id: userId }, { projection: { _id: 0, template_id: 1, model: 1, embedding: 1 } })
        .sort({ template_id: 1 })
        .toArray();
      return templates.map((t) => entry(user, t));
    },

    async templateEmbeddings(templateIds: string[]): Promise<Map<string, Float32Array>> {
      const out = new Map<string, Float32Array>();
      for (let i = 0; i < templateIds.length; i += IDS_PER_QUERY) {
        const docs = await cols.templates
          .find(
            { template_id: { $in: templateIds.slice(i, i + IDS_PER_QUERY) } },
            { projection: { _id: 0, template_id: 1, model: 1, embedding: 1 } },
          )
          .toArray();
        for (const d of docs) out.set(d.template_id, fromBinary(d.embedding));
      }
      return out;
    },
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
