import Fastify from 'fastify'

// The ceiling the hot path is measured against: a bare Fastify instance (default
// options, no logger, no schema, no hooks) answering each path of BASELINE_BODIES
// with the same constant body the service gave for it. Run as its own process.

const bodies = JSON.parse(process.env.BASELINE_BODIES ?? '{}') as Record<string, unknown>
const app = Fastify()
for (const [path, body] of Object.entries(bodies)) app.get(path, async () => body)
const url = await app.listen({ host: '127.0.0.1', port: 0 })
console.log(`baseline listening at ${url}`)
// An orderly exit, so that a profiler running in this process writes its profile.
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)))
