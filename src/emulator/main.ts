import { startEmulator } from './server.js'
import { banner, parseEmulatorEnv, type StandaloneConfig } from './standalone.js'

// npm run emulator: the Cloud API emulator as a process, configured by EMULATOR_* variables.

let config: StandaloneConfig
try {
  config = parseEmulatorEnv(process.env)
} catch (error) {
  console.error((error as Error).message)
  process.exit(1)
}
const emulator = await startEmulator({ ...config.options, host: config.host, port: config.port })
console.log(banner(emulator.url, config))
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void emulator.close().then(() => process.exit(0)))
}
