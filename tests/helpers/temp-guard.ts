// vitest setup file (vitest.config.ts): every test file runs with the temporary-folder guard of temp.ts
import { installTempGuard } from './temp.ts';

installTempGuard();
