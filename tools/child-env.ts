// The environment for a child process that loads the sources through tsx. tap
// would record its coverage too, but tsx maps lines differently from tap's own
// loader, and the merged report would credit the wrong lines.
export function untracedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0', ...extra }
}
