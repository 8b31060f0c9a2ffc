/** Guest image recipes (images/*.yaml), validated. */
import { join } from 'node:path';
import { z } from 'zod';
import { loadYaml } from '../core/data.ts';

const ImageRecipeSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'lower-case letters, digits, dots and dashes'),
  suite: z.string().regex(/^[a-z]+$/, 'a Debian suite name such as bookworm'),
  variant: z.enum(['essential', 'required', 'minbase', 'apt']),
  packages: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, 'a Debian package name')).min(1),
  size_mb: z.number().int().min(512).max(16384),
  init: z.string().regex(/^[\w.-]+$/, 'a file name in images/'),
});
export type ImageRecipe = z.infer<typeof ImageRecipeSchema> & { file: string; dir: string };

export async function loadRecipe(file: string): Promise<ImageRecipe> {
  const recipe = await loadYaml(file, ImageRecipeSchema);
  return { ...recipe, file, dir: join(file, '..') };
}
