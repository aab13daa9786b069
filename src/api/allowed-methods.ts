/**
 * Which methods a path answers, read from the app's own route table, so an unmatched request
 * can be told apart: a known path with another method is 405 with `Allow`, an unknown path 404.
 * Built on first use, when every route is mounted. Middleware entries (method ALL) are skipped.
 */
export function allowedMethods(app: { routes: readonly { method: string; path: string }[] }) {
  let table: { pattern: RegExp; methods: Set<string> }[] | undefined;
  const build = () => {
    const byPath = new Map<string, Set<string>>();
    for (const r of app.routes) {
      if (r.method === 'ALL') continue;
      const methods = byPath.get(r.path) ?? new Set<string>();
      methods.add(r.method);
      if (r.method === 'GET') methods.add('HEAD');
      byPath.set(r.path, methods);
    }
    return [...byPath].map(([path, methods]) => ({ pattern: toPattern(path), methods }));
  };
  return (path: string): string[] => {
    table ??= build();
    const found = new Set<string>();
    for (const { pattern, methods } of table) if (pattern.test(path)) for (const m of methods) found.add(m);
    return [...found].sort();
  };
}

/** `/api/v1/jobs/:id/results` -> a regex of whole segments; `*` matches the rest. */
function toPattern(path: string): RegExp {
  const segments = path.split('/').map((s) => {
    if (s.startsWith(':')) return '[^/]+';
    if (s === '*') return '.*';
    return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${segments.join('/')}/?$`);
}
