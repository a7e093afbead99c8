import Fastify from 'fastify'

// The ceiling the service is measured against: a bare Fastify instance (default
// options, no logger, no schema, no hooks) answering each path of BASELINE_BODIES
// with the same constant body the service gave for it. Run as its own process, as
// plain JavaScript like the service's build, so that its start is comparable too.

const bodies = JSON.parse(process.env.BASELINE_BODIES ?? '{}')
const app = Fastify()
for (const [path, body] of Object.entries(bodies)) app.get(path, async () => body)
const url = await app.listen({ host: '127.0.0.1', port: 0 })
console.log(`baseline listening at ${url}`)
// An orderly exit, so that a profiler running in this process writes its profile.
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)))
