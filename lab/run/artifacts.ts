/**
 * The kernel and the guest image a run boots, and what `lab build` prints:
 * source (first, so an unavailable kernel fails in seconds, before any package
 * is installed), host set-up, kernel build or cache hit, image build or cache
 * hit. Logs go to the run's folder.
 */
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LabConfig } from '../core/config.ts';
import { untimed, type ProgressReporter, type Stage } from '../core/reporter.ts';
import { probeAccel } from '../guest/accel.ts';
import { ensureHost } from '../host/setup.ts';
import { buildImage, defaultMirror, imageKey, type GuestImage } from '../image/build.ts';
import { loadRecipe } from '../image/recipe.ts';
import { formatBytes, sweepLeftovers } from '../kernel/cache.ts';
import { buildInputs, buildKernel, reproducer, type BuildResult, type KernelBuild } from '../kernel/build.ts';
import { renderFragment, type FragmentEntry } from '../kernel/config.ts';
import { DEFAULT_FLAVOR, labFragments, resolveKernelInput, type KernelInput } from '../kernel/inputs.ts';
import { expandKernels, type KernelSource, type SourceOptions } from '../kernel/source.ts';
import { isKernelAlias } from '../kernel/spec.ts';

export interface ArtifactContext {
  config: LabConfig;
  reporter: ProgressReporter;
  /** The folder logs and the kernel's config, fragment and reproducer go to. */
  dir: string;
  signal?: AbortSignal;
  stage?: Stage;
}

export interface KernelArtifacts {
  source: KernelSource;
  built: BuildResult;
  fragments: FragmentEntry[];
  /** Lines of the lab's fragments whose `# lab: when kernel ...` block did not hold for this kernel. */
  skipped: (FragmentEntry & { when: string })[];
  reproducer: string[];
}

/** Where the configuration says kernel sources come from (the cache, local tarballs, Debian, the mirror). */
export const sourceOptions = (config: LabConfig, reporter: ProgressReporter, dir?: string, signal?: AbortSignal): SourceOptions => ({
  cacheDir: config.paths.cache,
  reporter,
  installPackages: true,
  ...(dir ? { setupLog: join(dir, 'setup.log') } : {}),
  signal,
  tarballDirs: config.tarballDirs,
  mirror: config.kernelMirror,
  debianArchive: config.debianArchive,
});

/** `lts` and `newest` in a list of kernels, replaced by the series they name. */
export const expandKernelList = (kernels: readonly string[], config: LabConfig, reporter: ProgressReporter): Promise<string[]> =>
  kernels.some(isKernelAlias) ? expandKernels(kernels, sourceOptions(config, reporter)) : Promise.resolve([...kernels]);

const resolveSourceFor = (input: KernelInput, { config, reporter, dir, signal }: ArtifactContext) => resolveKernelInput(input, sourceOptions(config, reporter, dir, signal));

/** What lab processes that are gone left (a build's folder, an extraction, a guest's overlay): removed, and said. */
export async function sweep(cacheDir: string, reporter: ProgressReporter): Promise<void> {
  const swept = await sweepLeftovers(cacheDir);
  if (swept.length) {
    const bytes = swept.reduce((n, e) => n + e.bytes, 0);
    reporter.stage('setup', `removed ${swept.length} leftover(s) of lab processes that are gone (${formatBytes(bytes)}): ${swept.map((e) => e.name).join(', ')}`);
  }
}

/** Source, host packages, kernel build: what `lab build` does, and the first half of a run. */
export async function prepareKernel(input: KernelInput, extraFragments: FragmentEntry[], ctx: ArtifactContext): Promise<KernelArtifacts> {
  const { config, reporter, dir, signal } = ctx;
  const stage = ctx.stage ?? untimed;
  const { source } = await stage('source', () => resolveSourceFor(input, ctx));
  const flavor = input.flavor ?? DEFAULT_FLAVOR;
  const skipped: (FragmentEntry & { when: string })[] = [];
  const fragments = [...(await labFragments(config.paths.repo, source.version, flavor, skipped)), ...extraFragments];
  await stage('setup', async () => {
    await ensureHost(reporter, { log: join(dir, 'setup.log') });
    await sweep(config.paths.cache, reporter);
    // before any build: `accel kvm` where KVM cannot run a guest stops here (exit 4)
    const accel = await probeAccel(config.accel, { cacheDir: config.paths.cache });
    reporter.stage('setup', `accelerator: ${accel.accel.toUpperCase()} (${accel.reason})`);
  });
  const built = await stage('kernel', () =>
    buildKernel(source, { cacheDir: config.paths.cache, fragments, flavor, reporter, log: join(dir, 'build.log'), signal, allowBuild: !input.noBuild }),
  );
  const k = built.build;
  if (built.cacheHit) {
    reporter.stage('kernel', `cache hit: ${k.release} (${k.buildDir})`);
    await copyFile(join(k.buildDir, 'build.log'), join(dir, 'build.log')).catch(() => undefined);
  }
  const lines = await writeKernelRecord(dir, source, k, fragments);
  return { source, built, fragments, skipped, reproducer: lines };
}

/** What was booted, and how to rebuild it from the results folder: the reproducer expects the fragment beside it. */
export async function writeKernelRecord(dir: string, source: KernelSource, k: KernelBuild, fragments: FragmentEntry[]): Promise<string[]> {
  const lines = reproducer(source, { jobs: k.jobs, flavor: k.flavor, fragment: renderFragment(fragments) });
  await writeFile(join(dir, 'kernel.config'), await readFile(join(k.buildDir, '.config')));
  await writeFile(join(dir, 'kernel-fragment.config'), renderFragment(fragments));
  await writeFile(join(dir, 'reproducer.sh'), `#!/bin/sh\n# Run in a folder holding kernel-fragment.config (this results folder has it).\nset -e\n${lines.join('\n')}\n`);
  return lines;
}

/** The guest image (images/bookworm.yaml unless `image` names another recipe), built or from the cache. */
export async function prepareImage(image: string | undefined, ctx: ArtifactContext): Promise<{ image: GuestImage; cacheHit: boolean }> {
  const stage = ctx.stage ?? untimed;
  const recipe = await loadRecipe(image ?? join(ctx.config.paths.repo, 'images', 'bookworm.yaml'));
  const img = await stage('image', () =>
    buildImage(recipe, { cacheDir: ctx.config.paths.cache, reporter: ctx.reporter, log: join(ctx.dir, 'image.log'), signal: ctx.signal, mirror: ctx.config.imageMirror }),
  );
  if (img.cacheHit) ctx.reporter.stage('image', `cache hit: ${img.image.path}`);
  return img;
}

/** The kernel, then the guest image. */
export async function prepareArtifacts(
  input: KernelInput & { image?: string },
  extraFragments: FragmentEntry[],
  ctx: ArtifactContext,
): Promise<KernelArtifacts & { img: { image: GuestImage; cacheHit: boolean } }> {
  const kernel = await prepareKernel(input, extraFragments, ctx);
  return { ...kernel, img: await prepareImage(input.image, ctx) };
}

/** The keys the lab's cache finds a kernel build and an image by, without building either (CI caches key on them). */
interface CacheKeys {
  /** origin: where the source came from (a tarball: Debian's archive names the package and its Debian version in the file name). */
  kernel: { version: string; flavor: string; sourceId: string; inputsKey: string; compiler: string; origin: string };
  image: { name: string; key: string };
}

/** Resolves the kernel source (installing or extracting it when needed, as a run would) and hashes the build and image inputs. */
export async function cacheKeys(input: KernelInput & { image?: string }, extraFragments: FragmentEntry[], ctx: ArtifactContext): Promise<CacheKeys> {
  const { source } = await resolveSourceFor(input, ctx);
  const flavor = input.flavor ?? DEFAULT_FLAVOR;
  const fragments = [...(await labFragments(ctx.config.paths.repo, source.version, flavor)), ...extraFragments];
  const inputs = await buildInputs(source, fragments, flavor);
  const recipe = await loadRecipe(input.image ?? join(ctx.config.paths.repo, 'images', 'bookworm.yaml'));
  return {
    kernel: { version: source.version, flavor, sourceId: source.id, inputsKey: inputs.key, compiler: inputs.compiler, origin: source.origin },
    image: { name: recipe.name, key: await imageKey(recipe, ctx.config.imageMirror ?? (await defaultMirror(recipe.suite))) },
  };
}
