/**
 * Temporary folders of the tests, and the guard that fails a test that leaves
 * one behind (a run of the unit project once left 246 folders in /tmp).
 *
 * As the setup file of both projects (vitest.config.ts), it gives each test
 * file a folder of its own as TMPDIR (os.tmpdir() reads it on every call, and
 * the lab processes a test starts inherit it). After each test, the folders
 * the test made with tempDir() are removed; anything else new in that folder
 * is a leak and fails the test, naming it. After the file, anything left
 * fails the file; then the folder goes.
 */
import { mkdtempSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, expect } from 'vitest';

const forTest: string[] = [];
const forFile: string[] = [];

/** A new folder in the test's temporary folder, removed when the test (or, made outside a test, the file) ends. */
export function tempDir(prefix = 'lab-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  (expect.getState().currentTestName === undefined ? forFile : forTest).push(dir);
  return dir;
}

const remove = (dirs: string[]) => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
};

/** What the lab itself keeps in TMPDIR between runs (lab/core/scratch.ts): an empty folder of its own is no leak. */
const LAB_HOST_SCRATCH = /^page-owner-lab-\d+$/;
/** tsx's compile cache (npm run bench and docs run through tsx): a tool's cache kept on purpose, gone with the file's TMPDIR. */
const TOOL_CACHE = /^tsx-\d+$/;

function leftIn(root: string, before: ReadonlySet<string>): string[] {
  return readdirSync(root).filter((n) => {
    if (before.has(n) || TOOL_CACHE.test(n)) return false;
    if (LAB_HOST_SCRATCH.test(n)) {
      try {
        // empty: nothing of any run is left in it
        rmdirSync(join(root, n));
        return false;
      } catch {
        return true;
      }
    }
    return true;
  });
}

export function installTempGuard(): void {
  const root = mkdtempSync(join(tmpdir(), 'lab-test-'));
  process.env.TMPDIR = root;
  // a file whose tests are all skipped runs no afterAll: its (empty) folder goes with the process
  process.once('exit', () => {
    try {
      rmdirSync(root);
    } catch {
      /* gone, or not empty: afterAll said what was left */
    }
  });
  let before = new Set<string>();
  beforeEach(() => {
    before = new Set(readdirSync(root));
  });
  afterEach(() => {
    remove(forTest);
    const leaked = leftIn(root, before);
    // removed here, so the next test starts clean; the test fails naming them
    for (const n of leaked) rmSync(join(root, n), { recursive: true, force: true });
    if (leaked.length) throw new Error(`the test left ${leaked.length} temporary file(s) or folder(s) behind: ${leaked.join(', ')} (use tempDir() of tests/helpers/temp.ts, or remove them)`);
  });
  afterAll(() => {
    remove(forFile);
    const leaked = leftIn(root, new Set());
    rmSync(root, { recursive: true, force: true });
    if (leaked.length) throw new Error(`this test file left ${leaked.length} temporary file(s) or folder(s) behind: ${leaked.join(', ')}`);
  });
}
