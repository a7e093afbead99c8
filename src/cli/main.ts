#!/usr/bin/env node
import { runCli } from './run.js'

// The first SIGINT/SIGTERM asks the running verb to stop (the drill restores what
// it disrupted); a second one exits at once.
const stop = new AbortController()
const onSignal = () => (stop.signal.aborted ? process.exit(130) : stop.abort())
process.on('SIGINT', onSignal).on('SIGTERM', onSignal)

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: stop.signal
})
// Whatever still winds down after the verb, a signal now ends the process as usual.
process.off('SIGINT', onSignal).off('SIGTERM', onSignal)
