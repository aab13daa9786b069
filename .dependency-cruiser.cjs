// The walls of src/ and the absence of import cycles, checked by `npm run lint` (hence CI).
// dependency-cruiser rather than ESLint rules: forbidden paths and cycles in one config, read
// from the tsconfig, and each violation printed with the rule's name, the whole path and the
// comment below. It adds 7-11 s to the lint here (2 loaded cores; `eslint .` alone: 170 s).
// eslint-plugin-import-x's no-cycle took 12-22 s on src alone, said only "Dependency cycle
// detected" without the path, and did not see the two type-only cycles src had.
// 17.x because 18.x requires Node 22 and we support Node 20. test/lint/walls.test.ts proves it.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'api-not-to-worker',
      severity: 'error',
      comment:
        'src/api never imports src/worker: they run as separate processes. Shared code goes in src/shared.',
      from: { path: '^src/api/' },
      to: { path: '^src/worker/' },
    },
    {
      name: 'worker-not-to-api',
      severity: 'error',
      comment:
        'src/worker never imports src/api: they run as separate processes. Shared code goes in src/shared.',
      from: { path: '^src/worker/' },
      to: { path: '^src/api/' },
    },
    {
      name: 'shared-not-to-sides',
      severity: 'error',
      comment: 'src/shared is what both sides use: it imports neither src/api, src/worker nor src/cli.',
      from: { path: '^src/shared/' },
      to: { path: '^src/(api|worker|cli)/' },
    },
    {
      name: 'cli-only-shared',
      severity: 'error',
      comment: 'src/cli is an HTTP client of the service: of src it imports src/shared only.',
      from: { path: '^src/cli/' },
      to: { path: '^src/', pathNot: '^src/(cli|shared)/' },
    },
    {
      name: 'launcher-only-from-all-in-one',
      severity: 'error',
      comment:
        'src/launcher (starting a local redis-server for `npm start`) is dev tooling: the API and worker connect to the Redis they are given.',
      from: { path: '^src/(api|worker|shared|cli)/' },
      to: { path: '^src/launcher/' },
    },
    {
      name: 'src-not-to-test-or-bench',
      severity: 'error',
      comment: 'Nothing in src imports test/ or bench/ (they import src, not the other way round).',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      // Type-only imports count too: both cycles found when this rule came in were type-only
      // (evidence.ts <-> store/types.ts, store/index.ts <-> store/mongo-store.ts), each still a
      // rule and its records, or a factory and its backend, that needed each other; and a
      // type-only import becomes a runtime one as soon as a value is imported beside it.
      name: 'no-circular',
      severity: 'error',
      comment:
        'Import cycle: move the piece both modules need into a module of its own that neither imports back.',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Without this, type-only imports are dropped before the check (they are gone after tsc).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Resolve packages through their "exports" map (hono/combine, hono/html ...) as Node does.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'types', 'node', 'default'],
    },
  },
};
