import type {
  EnrollOutcome,
  ErasureReceipt,
  GalleryEntry,
  GroupSummary,
  Page,
  TemplateInput,
  User,
  UserInput,
} from '../types.js';

/**
 * Users and their templates: enrollment, erasure (with its tombstone) and the matching gallery.
 * Writes are idempotent where a retried job could repeat them: templates are keyed by
 * (user_id, photo_sha256).
 */
export interface UserRepository {
  /**
   * Upserts the user and adds (or, with `replace`, replaces all templates with) this template.
   * A null group keeps the group the user already has. With `acceptedAt` (when the batch asking
   * for it was accepted), an erasure of the user at or after that moment wins, whatever the
   * interleaving with a concurrent `deleteUser`: nothing of this call remains, and it says ERASED.
   */
  enroll(
    user: UserInput,
    template: TemplateInput,
    mode: 'add' | 'replace',
    acceptedAt?: string,
  ): Promise<EnrollOutcome | 'ERASED'>;
  getUser(userId: string): Promise<User | undefined>;
  /** In user_id order, after `cursor`. */
  listUsers(query: { group?: string; cursor?: string; limit: number }): Promise<Page<User>>;
  /** Every group with its user count, by name, the ungrouped (null) last. */
  listGroups(): Promise<GroupSummary[]>;
  /**
   * Erases the user and templates; leaves a tombstone so in-flight work cannot re-create them
   * (see `enroll`'s acceptedAt). For a user id the store does not hold, the tombstone is written
   * only with `tombstoneIfUnknown` (default true): the caller knows of work in flight for it.
   * The receipt counts the user's attendance records, which are kept.
   */
  deleteUser(userId: string, opts?: { tombstoneIfUnknown?: boolean }): Promise<ErasureReceipt | undefined>;
  /** When the user was last erased, if ever. */
  erasedAt(userId: string): Promise<string | undefined>;
  /** Every template (optionally of one group), with embeddings: the matching gallery. */
  gallery(group?: string): Promise<GalleryEntry[]>;
  /** The gallery a page at a time (ordered by template_id), so a million templates load in bounded memory. */
  galleryPage(query: { cursor?: string; limit: number }): Promise<Page<GalleryEntry>>;
  /** One user's templates with embeddings (empty when the user is gone). */
  userTemplates(userId: string): Promise<GalleryEntry[]>;
  /** Exact embeddings of the given templates (missing ids are left out). */
  templateEmbeddings(templateIds: string[]): Promise<Map<string, Float32Array>>;
}
