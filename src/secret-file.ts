import { readFileSync, unwatchFile, watchFile } from 'node:fs'

// A secret handed over as a mounted file (NAME_FILE), and rotated in place: Kubernetes
// swaps a Secret's files by moving a symlink, which a stat poll sees and inotify on the
// old path does not.

/** The secret a file holds: its content without the trailing newline. */
export function readSecretFile(path: string): string {
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '')
}

export interface SecretFile {
  /** The value in force: the file's last readable, non-empty content. */
  value(): string
  close(): void
}

// A file caught mid-write, or emptied, keeps the value in force until it holds one again.
export function watchSecretFile(path: string, initial: string, onChange: (value: string) => void, pollMs: number): SecretFile {
  let value = initial
  const check = () => {
    let next: string
    try {
      next = readSecretFile(path)
    } catch {
      return
    }
    if (next === '' || next === value) return
    value = next
    onChange(next)
  }
  watchFile(path, { interval: pollMs, persistent: false }, check)
  return { value: () => value, close: () => unwatchFile(path, check) }
}
