import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'results/', '.build/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // the CI helper scripts are plain Node ESM (zx), outside the TypeScript project
  { files: ['.ci/**/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
  {
    rules: {
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
);
