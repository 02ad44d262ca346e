/**
 * The import rules of mlo's source tree, checked by `npm run lint:deps` (part of `npm run lint`, run by
 * .ci/run). docs/architecture.md draws the ladder these rules enforce.
 *
 * The ladder, bottom to top; a layer imports itself and the layers below it, never one above:
 *   0 src/base/
 *   1 src/storage/
 *   2 src/core/repo/
 *   3 src/core/data/
 *   4 src/core/{pipeline,registry,model}/
 *   5 src/core/sync/
 *   6 src/core/{tracking,serve,monitor,ci,queue,ui}/
 *   7 src/cli/ and src/index.ts (the entry points: the binary and the API that stage scripts import)
 */

/** Each layer's folders, bottom to top, as path regexes relative to the repository root. */
const LAYERS = [
  { name: 'base', paths: ['src/base/'] },
  { name: 'storage', paths: ['src/storage/'] },
  { name: 'core-repo', paths: ['src/core/repo/'] },
  { name: 'core-data', paths: ['src/core/data/'] },
  { name: 'core-domain', paths: ['src/core/pipeline/', 'src/core/registry/', 'src/core/model/'] },
  { name: 'core-sync', paths: ['src/core/sync/'] },
  { name: 'core-apps', paths: ['src/core/tracking/', 'src/core/serve/', 'src/core/monitor/', 'src/core/ci/', 'src/core/queue/', 'src/core/ui/'] },
  { name: 'entry', paths: ['src/cli/', 'src/index\\.ts$'] },
];

const anyOf = (paths) => `^(${paths.join('|')})`;

/**
 * One rule per layer below the top: from the layer, to any src/ file that is neither in it nor below it.
 * Type-only imports count (tsPreCompilationDeps): a type from a higher layer ties the lower one to it as
 * surely as a value does, and it is how the next value import sneaks in.
 */
const ladderRules = LAYERS.slice(0, -1).map((layer, i) => {
  const reachable = LAYERS.slice(0, i + 1);
  const names = reachable.map((l) => l.name).join(', ');
  return {
    name: `ladder-${layer.name}`,
    severity: 'error',
    comment:
      `${layer.paths.join(', ')} may import only ${names}: imports flow down the ladder (docs/architecture.md), ` +
      'so a lower layer can be read, tested and changed without the ones above it. Move the shared code down, ' +
      'or pass it in from above.',
    from: { path: anyOf(layer.paths) },
    to: { path: '^src/', pathNot: anyOf(reachable.flatMap((l) => l.paths)) },
  };
});

module.exports = {
  forbidden: [
    ...ladderRules,
    {
      name: 'storage-imports-only-base',
      severity: 'error',
      comment:
        'Remotes move bytes by key; they know nothing of repositories, pointers or pipelines, so a new ' +
        'remote type can be written and contract-tested against src/base alone.',
      from: { path: '^src/storage/' },
      to: { path: '^src/', pathNot: '^src/(base|storage)/' },
    },
    {
      name: 'in-a-layer',
      severity: 'error',
      comment:
        'Every src/ module sits in one layer of the ladder, or the ladder rules cannot place it. Put a new ' +
        'folder in a layer here and in docs/architecture.md.',
      from: { path: '^src/' },
      to: { path: '^src/', pathNot: anyOf(LAYERS.flatMap((l) => l.paths)) },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'A cycle makes its modules one unit: none can be loaded, tested or understood alone, and the ' +
        'load order decides which sees the other half-initialized.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'command-imports-no-command',
      severity: 'error',
      comment:
        'A command is a thin shell over core functions; what two commands share belongs in core (the ' +
        'data) or in src/cli/ (output, action wrappers), not in one of them.',
      from: { path: '^src/cli/commands/' },
      to: { path: '^src/cli/commands/' },
    },
    {
      name: 'src-not-to-test',
      severity: 'error',
      comment:
        'test/ is not shipped (package.json "files"); src/ importing it would break the installed package. ' +
        'Unit tests beside the code (src/**/*.test.ts) may use test/support/ (model builders).',
      from: { path: '^src/', pathNot: '\\.test\\.ts$' },
      to: { path: '^test/' },
    },
    {
      name: 'not-to-test-file',
      severity: 'error',
      comment: 'A *.test.ts file is a suite, not a library; move what others need out of it.',
      from: {},
      to: { path: '\\.test\\.ts$' },
    },
    {
      name: 'src-not-to-dev-dep',
      severity: 'error',
      comment:
        'devDependencies (vitest, esbuild, s3rver...) are absent from an installed mlo: production code that ' +
        'imports one fails for users only. Type-only imports of @types packages are erased and allowed.',
      from: { path: '^src/', pathNot: '\\.test\\.ts$' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'], pathNot: 'node_modules/@types/' },
    },
    {
      name: 'no-non-package-json',
      severity: 'error',
      comment: 'A package that is not in package.json works only while something else happens to install it.',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to no file fails at run time.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment: 'A module that nothing imports is dead code, or an entry point that belongs in the list of ' + 'exceptions here.',
      from: {
        orphan: true,
        path: '^src/',
        pathNot: [
          '\\.test\\.ts$',
          '^src/index\\.ts$', // the package's API (package.json "exports")
          '\\.d\\.ts$',
        ],
      },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    // Type-only imports are dependencies too (see the ladder rules).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      archi: { collapsePattern: '^src/(core/)?[^/]+' },
    },
  },
};
