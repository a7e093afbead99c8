// The environment for a child process that loads the sources through tsx. tap
// would record its coverage too, but tsx maps lines differently from the test runner's
// loader (ts-register.mjs), and the merged report would credit the wrong lines.
export function untracedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0', ...extra }
}

// The test runner's own node flags, for a child that loads the sources as the test
// does (so its coverage counts) from any working directory: a loader the runner
// names relative to the project becomes a file URL.
export function runnerExecArgv(): string[] {
  const root = new URL('../', import.meta.url)
  return process.execArgv.map((arg) => (arg.startsWith('--import=./') ? `--import=${new URL(arg.slice('--import='.length), root).href}` : arg))
}
