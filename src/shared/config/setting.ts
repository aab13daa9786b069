import { z } from 'zod';

/**
 * One environment variable: its name, its default, how it is validated and what the README says
 * about it. A setting is one of these in `settings.ts`, under the `Config` key it is read into.
 */
export interface Setting {
  readonly env: string;
  /**
   * The value when the variable is unset, written as it would be in the environment: it goes
   * through `schema` like any value, so a default cannot bypass validation. None: optional.
   */
  readonly default?: string;
  /** The default as the README shows it, when the raw value says little (`CPU cores`, `15 MiB`). */
  readonly shown?: string;
  /** Checks the string and gives the typed value; its messages are the start-up error's. */
  readonly schema: z.ZodType;
  /** The README's "meaning" column. */
  readonly doc: string;
}

/** Settings grouped under the typed keys they are read into; nesting makes `config.webhook.…`. */
export interface SettingsTree {
  readonly [key: string]: Setting | SettingsTree;
}

/** Arrays come out of the config as readonly arrays (they are frozen). */
type Frozen<T> = T extends readonly (infer E)[] ? readonly E[] : T;

/** The typed, read-only value a tree of settings is read into. */
export type ConfigOf<T> = T extends Setting
  ? Frozen<z.output<T['schema']>>
  : { readonly [K in keyof T]: ConfigOf<T[K]> };

function isSetting(node: Setting | SettingsTree): node is Setting {
  return node.schema instanceof z.ZodType && typeof node.env === 'string';
}

/** Every setting in the tree, in declaration order (the order bad variables are listed in). */
export function settingsOf(tree: SettingsTree): Setting[] {
  return Object.values(tree).flatMap((node) => (isSetting(node) ? [node] : settingsOf(node)));
}

/** The zod object over the environment: one key per variable, so an issue's path is its name. */
export function envSchema(tree: SettingsTree): z.ZodObject {
  return z.object(Object.fromEntries(settingsOf(tree).map((s) => [s.env, s.schema])));
}

/** The environment with each unset variable given its default (still a string, still to be parsed). */
export function withDefaults(tree: SettingsTree, env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  return Object.fromEntries(settingsOf(tree).map((s) => [s.env, env[s.env] ?? s.default]));
}

/** The parsed variables put back under their typed keys, every object and array frozen. */
export function readTree<T extends SettingsTree>(
  tree: T,
  parsed: Readonly<Record<string, unknown>>,
): ConfigOf<T> {
  const read = (node: SettingsTree): object =>
    Object.freeze(
      Object.fromEntries(
        Object.entries(node).map(([key, child]) => {
          if (!isSetting(child)) return [key, read(child)];
          const value = parsed[child.env];
          return [key, Array.isArray(value) ? Object.freeze(value) : value];
        }),
      ),
    );
  return read(tree) as ConfigOf<T>;
}
