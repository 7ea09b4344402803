// A few rules that catch real bugs in async server code, checked with the type information tsc
// already has; style is left to the reviewer.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.bench/', 'web/dist/'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A promise nobody awaits loses its error: a failed append would go unreported.
      '@typescript-eslint/no-floating-promises': ['error', {
        // node:test collects tests itself; their promises are its to await.
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }],
      }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
      // Every discriminated union is handled in full (AST nodes, window kinds, settings).
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-explicit-any': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    // The web app and the browser SDK are checked against tsconfig.web.json (the DOM lib declares
    // the browser's globals; typescript-eslint turns off no-undef for TypeScript, so tsc is what
    // catches an unknown name).
    files: ['web/**/*.ts', 'web-sdk/**/*.ts'],
    languageOptions: { parserOptions: { projectService: false, project: './tsconfig.web.json', tsconfigRootDir: import.meta.dirname } },
  },
  {
    // Benchmarks and examples report on stdout.
    files: ['bench/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
