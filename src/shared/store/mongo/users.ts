import { randomUUID } from 'node:crypto';
import type { Filter } from 'mongodb';
import { byId, keysetPage } from '../cursor.js';
import type { UserRepository } from '../repositories/users.js';
import type { GroupSummary, TemplateSummary, User } from '../types.js';
import { NO_ID, type Collections, type TemplateDoc, type UserDoc } from './collections.js';
import { now, toBinary } from './encoding.js';
import type { GalleryReads } from './gallery.js';

const toSummary = (t: TemplateDoc): TemplateSummary => ({
  template_id: t.template_id,
  model: t.model,
  detection_score: t.detection_score,
  quality: t.quality,
  photo_sha256: t.photo_sha256,
  created_at: t.created_at,
});

const USERS = byId((d: UserDoc) => d.user_id);

/**
 * Users and templates on MongoDB, the gallery reads in gallery.ts. No transactions: each write
 * is one single-document operation (or an idempotent deleteMany), in the order SQLite's
 * transaction makes them; where SQLite relies on the transaction, the comment says what instead.
 */
export function mongoUsers(cols: Collections): Omit<UserRepository, keyof GalleryReads> {
  return {
    async enroll(user, t, mode, acceptedAt) {
      if (acceptedAt !== undefined && (await erasedSince(cols, user.user_id, acceptedAt))) return 'ERASED';
      const at = now();
      // The upsert says whether the user existed: upsertedCount is 1 exactly when this call
      // inserted the document. Two concurrent enrolls of a new user: the unique index lets only one
      // insert; MongoDB (4.2+) retries the other's upsert as an update, so it reports UPDATED.
      const { upsertedCount } = await cols.users.updateOne(
        { user_id: user.user_id },
        {
          // A re-enrollment without a group keeps the user's group (SQLite: COALESCE).
          $set: {
            name: user.name,
            ...(user.group !== null ? { group: user.group } : {}),
            metadata: JSON.stringify(user.metadata),
            updated_at: at,
          },
          $setOnInsert: { enrolled_at: at, ...(user.group === null ? { group: null } : {}) },
        },
        { upsert: true },
      );
      if (mode === 'replace') {
        await cols.templates.deleteMany({ user_id: user.user_id, photo_sha256: { $ne: t.photo_sha256 } });
      }
      // The same photo of the same user is one template; re-enrolling it (e.g. after a model
      // upgrade) refreshes its embedding instead of adding a second one.
      await cols.templates.updateOne(
        { user_id: user.user_id, photo_sha256: t.photo_sha256 },
        {
          $set: {
            model: t.model,
            embedding: toBinary(t.embedding),
            detection_score: t.detection_score,
            quality: t.quality,
          },
          $setOnInsert: { template_id: randomUUID(), created_at: at },
        },
        { upsert: true },
      );
      // No transaction (FerretDB has none): erasure wins by order instead. deleteUser writes the
      // tombstone before it deletes; this checks it after writing. If the tombstone came first, this
      // sees it and takes its own writes back; if not, deleteUser's deletes come after these writes.
      if (acceptedAt !== undefined && (await erasedSince(cols, user.user_id, acceptedAt))) {
        await cols.templates.deleteOne({ user_id: user.user_id, photo_sha256: t.photo_sha256 });
        if ((await cols.templates.countDocuments({ user_id: user.user_id }, { limit: 1 })) === 0) {
          await cols.users.deleteOne({ user_id: user.user_id });
        }
        return 'ERASED';
      }
      return upsertedCount === 1 ? 'ENROLLED' : 'UPDATED';
    },

    async getUser(userId) {
      const doc = await cols.users.findOne({ user_id: userId }, NO_ID);
      if (!doc) return undefined;
      const [user] = await withTemplates(cols, [doc]);
      return user;
    },

    // $group with $sum (FerretDB v1 runs both); sorted here, so null (the ungrouped) goes last.
    async listGroups() {
      const rows = await cols.users
        .aggregate<{ _id: string | null; users: number }>([{ $group: { _id: '$group', users: { $sum: 1 } } }])
        .toArray();
      return rows
        .map((r): GroupSummary => ({ group: r._id ?? null, users: r.users }))
        .sort((a, b) =>
          a.group === b.group ? 0 : a.group === null ? 1 : b.group === null ? -1 : a.group < b.group ? -1 : 1,
        );
    },

    async listUsers(q) {
      return keysetPage(
        q,
        USERS,
        (after = '', limit) => {
          const filter: Filter<UserDoc> =
            q.group === undefined ? { user_id: { $gt: after } } : { group: q.group, user_id: { $gt: after } };
          return cols.users.find(filter, NO_ID).sort({ user_id: 1 }).limit(limit).toArray();
        },
        (docs) => withTemplates(cols, docs),
      );
    },

    async deleteUser(userId, opts) {
      const at = now();
      // Unknown and no work in flight (the caller says): nothing to stop, so no tombstone. A racing
      // first enrollment of this id is one the caller would have seen in flight.
      if (!(opts?.tombstoneIfUnknown ?? true) && !(await cols.users.findOne({ user_id: userId }, NO_ID)))
        return undefined;
      // Tombstone first (as in SQLite, also for a user that does not exist yet), then the data.
      await cols.erasures.updateOne({ user_id: userId }, { $set: { erased_at: at } }, { upsert: true });
      const templates = await cols.templates.deleteMany({ user_id: userId });
      const users = await cols.users.deleteOne({ user_id: userId });
      if (users.deletedCount === 0) return undefined;
      return {
        user_id: userId,
        templates_erased: templates.deletedCount,
        erased_at: at,
        attendance_records_kept: await cols.attendance.countDocuments({ user_id: userId }),
      };
    },

    erasedAt: (userId) => erasedAt(cols, userId),
  };
}

async function erasedAt(cols: Collections, userId: string): Promise<string | undefined> {
  const doc = await cols.erasures.findOne({ user_id: userId }, NO_ID);
  return doc?.erased_at;
}

async function erasedSince(cols: Collections, userId: string, acceptedAt: string): Promise<boolean> {
  const at = await erasedAt(cols, userId);
  return at !== undefined && at >= acceptedAt;
}

/** Users with their template summaries (no embeddings), in one query for the whole page. */
async function withTemplates(cols: Collections, docs: UserDoc[]): Promise<User[]> {
  const templates = await cols.templates
    .find(
      { user_id: { $in: docs.map((d) => d.user_id) } },
      { projection: { _id: 0, embedding: 0 }, sort: { created_at: 1, template_id: 1 } },
    )
    .toArray();
  return docs.map((d) => ({
    user_id: d.user_id,
    name: d.name,
    group: d.group,
    metadata: JSON.parse(d.metadata) as Record<string, unknown>,
    enrolled_at: d.enrolled_at,
    updated_at: d.updated_at,
    templates: templates.filter((t) => t.user_id === d.user_id).map(toSummary),
  }));
}
