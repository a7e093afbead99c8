import t from 'tap'
import { CloudApiError, PermissionDeniedError, RefusedError } from '../../src/cloud/errors.js'
import { failure, KEY, PRIMARY, setup, STANDBY, STREAM } from './setup.js'

// A key whose service account lacks a role an operation needs gets 403, code 7
// (spec: each operation's description lists the roles that may call it). That is
// a definite refusal: never retried, nothing to read back for, and a message that
// names what is missing.

// The client's key reads clusters, nodes and streams, and may change nothing.
const readOnly = { emulator: { apiKeys: [{ key: KEY, roles: ['CLUSTER_DEVELOPER' as const] }] } }

t.test('a read the key may not make is a refusal naming the roles it needs, not retried', async (t) => {
  const { client, requests, sleeps } = await setup(t, readOnly)
  t.equal((await client.getCluster(PRIMARY)).id, PRIMARY, 'what the role allows works')
  const error = await failure(client.getDisruption(PRIMARY, { budgetMs: 60_000 }))
  t.ok(error instanceof PermissionDeniedError)
  t.ok(error instanceof RefusedError && error instanceof CloudApiError)
  t.match(error, {
    name: 'PermissionDeniedError',
    kind: 'refused',
    operation: 'getDisruption',
    status: 403,
    apiCode: 7,
    requiredRoles: ['CLUSTER_ADMIN', 'CLUSTER_OPERATOR_WRITER']
  })
  t.match(
    error.message,
    /^getDisruption: permission denied: the API key may not call CockroachCloud_GetClusterDisruptionInfo, which needs one of the roles CLUSTER_ADMIN, CLUSTER_OPERATOR_WRITER \(HTTP 403 \(code 7\): permission denied: .*\)$/
  )
  t.equal((await requests('getDisruption')).length, 1, 'sent once')
  t.same(sleeps, [])
})

t.test('a mutation the key may not make is refused at once; only a PATCH reads the stream back', async (t) => {
  const { client, requests } = await setup(t, readOnly)
  const patch = await failure(client.patchStream(STREAM, { status: 'FAILING_OVER' }))
  t.ok(patch instanceof PermissionDeniedError)
  t.match(patch, { kind: 'refused', status: 403, requiredRoles: ['CLUSTER_ADMIN'], stream: { id: STREAM, status: 'REPLICATING' } })
  t.match(patch.message, /^patchStream: permission denied: .*CockroachCloud_UpdatePhysicalReplicationStream, which needs one of the roles CLUSTER_ADMIN .*; stream .* reads REPLICATING$/)

  const create = await failure(client.createStream({ primary_cluster_id: STANDBY, standby_cluster_id: PRIMARY }))
  t.match(create, { name: 'PermissionDeniedError', kind: 'refused', status: 403, stream: undefined })
  const put = await failure(client.putDisruption(PRIMARY, []))
  t.match(put, { name: 'PermissionDeniedError', kind: 'refused', status: 403 })
  t.same(
    (await requests()).map((request) => `${request.method} ${request.operation} ${request.status}`),
    ['PATCH patchStream 403', 'GET getStream 200', 'POST createStream 403', 'PUT putDisruption 403']
  )
})

t.test('a 403 with a message of its own still names the roles', async (t) => {
  const { client, fault } = await setup(t)
  await fault({ operation: 'getStream', kind: 'status', status: 403, code: 7, message: 'Forbidden', count: 1 })
  const error = await failure(client.getStream(STREAM))
  t.match(error, { name: 'PermissionDeniedError', apiMessage: 'Forbidden' })
  t.equal(
    error.message,
    'getStream: permission denied: the API key may not call CockroachCloud_GetPhysicalReplicationStream, which needs one of the roles CLUSTER_ADMIN, CLUSTER_OPERATOR_WRITER, CLUSTER_DEVELOPER (HTTP 403 (code 7): Forbidden)'
  )
})
