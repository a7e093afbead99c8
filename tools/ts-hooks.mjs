// Module hooks that run the TypeScript sources under node for the test runner:
// esbuild strips the types file by file (no type check: `tsc --noEmit` does that)
// and leaves the line structure alone, so coverage maps back line for line.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { transform } from 'esbuild'

const tsconfigRaw = { compilerOptions: { useDefineForClassFields: true } }

// NodeNext sources import `./x.js` for `./x.ts`; anything after the path
// (a test double's query) is kept.
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context)
  } catch (error) {
    const ts = specifier.replace(/\.js(?=$|[?#])/, '.ts')
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || ts === specifier || !/^(\.|file:)/.test(specifier)) throw error
    return next(ts, context)
  }
}

export async function load(url, context, next) {
  if (!/^file:[^?#]*\.ts(?=$|[?#])/.test(url)) return next(url, context)
  const path = fileURLToPath(url.replace(/[?#].*$/, ''))
  const { code } = await transform(await readFile(path, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    sourcefile: path,
    tsconfigRaw
  })
  return { format: 'module', source: code, shortCircuit: true }
}
