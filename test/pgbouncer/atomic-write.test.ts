import { mkdir, readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { writeIfChanged } from '../../src/pgbouncer/atomic-write.js'

t.test('writes a new file, rewrites a changed one, leaves an unchanged one alone', async (t) => {
  const dir = t.testdir()
  const path = join(dir, 'databases.ini')
  t.equal(await writeIfChanged(path, 'one\n'), true, 'created')
  t.equal(await readFile(path, 'utf8'), 'one\n')
  t.equal((await stat(path)).mode & 0o444, 0o444, 'readable by the PgBouncer user')

  const before = await stat(path)
  t.equal(await writeIfChanged(path, 'one\n'), false, 'unchanged')
  t.equal((await stat(path)).ino, before.ino, 'the very same file')

  t.equal(await writeIfChanged(path, 'two\n'), true, 'changed')
  t.equal(await readFile(path, 'utf8'), 'two\n')
  t.not((await stat(path)).ino, before.ino, 'a new file took the name: a reader never sees half of it')
  t.same(await readdir(dir), ['databases.ini'], 'no temporary file left behind')
})

t.test('a failure is thrown and leaves no temporary file', async (t) => {
  const dir = t.testdir()
  await t.rejects(writeIfChanged(join(dir, 'missing', 'databases.ini'), 'x'), { code: 'ENOENT' })
  // A directory under the name: reading it fails with something other than "not there".
  await mkdir(join(dir, 'taken'))
  await t.rejects(writeIfChanged(join(dir, 'taken'), 'x'), { code: 'EISDIR' })
  t.same(await readdir(dir), ['taken'])
})
