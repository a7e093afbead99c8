import { request } from 'undici'

// Small HTTP helpers for reading the service between measured runs.

/** What an application sends to GET /connection. */
export const credentials = { 'x-db-username': 'app', 'x-db-password': 'bench-password-0123' }

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; bytes: number }> {
  const res = await request(url, { headers })
  const text = await res.body.text()
  return { status: res.statusCode, body: text === '' ? undefined : JSON.parse(text), bytes: Buffer.byteLength(text) }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls test every pollMs until it holds; throws after timeoutMs. */
export async function waitUntil(what: string, test: () => Promise<boolean>, timeoutMs: number, pollMs = 20): Promise<void> {
  const until = performance.now() + timeoutMs
  while (!(await test().catch(() => false))) {
    if (performance.now() > until) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`)
    await sleep(pollMs)
  }
}

/** Until the URL answers 200: /ready once the active cluster is known, /connection once its SQL host is too. */
export async function waitForOk(url: string, headers: Record<string, string> = {}, timeoutMs = 30_000, pollMs = 20): Promise<void> {
  await waitUntil(`${url} to answer 200`, async () => (await getJson(url, headers)).status === 200, timeoutMs, pollMs)
}
