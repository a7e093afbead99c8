import { randomUUID } from 'node:crypto'
import { open, readFile, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

// PgBouncer may read the file at any moment (a RELOAD, a restart), so it must
// only ever see the old content or the new one: the new content is written
// beside it and renamed over it, which replaces the name in one step.

/** Writes content to path unless it is already there; true when it wrote. */
export async function writeIfChanged(path: string, content: string): Promise<boolean> {
  let current: string | undefined
  try {
    current = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  if (current === content) return false
  // Same directory, so the rename never crosses file systems.
  const temp = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`)
  try {
    // Readable by PgBouncer, which usually runs as another user.
    const file = await open(temp, 'wx', 0o644)
    try {
      await file.writeFile(content, 'utf8')
      // On disk before the rename, so a crash never leaves an empty file under the name.
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(temp, path)
  } catch (err) {
    await rm(temp, { force: true })
    throw err
  }
  return true
}
