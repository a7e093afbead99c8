// Who may call what. Each operation's description in the specification
// (docs/cloud-api/openapi.json) ends "Can be used by the following roles
// assigned at the organization, folder or cluster scope:" and a list; these are
// those lists for the operations this project calls. The client names them
// when the API answers 403; the emulator refuses a key that holds none of them.

/** OrganizationUserRole.Type of the specification. */
export const roles = [
  'BILLING_COORDINATOR',
  'ORG_ADMIN',
  'ORG_MEMBER',
  'CLUSTER_ADMIN',
  'CLUSTER_OPERATOR_WRITER',
  'CLUSTER_DEVELOPER',
  'CLUSTER_CREATOR',
  'FOLDER_ADMIN',
  'FOLDER_MOVER',
  'METRICS_VIEWER',
  'CLUSTER_MONITOR',
  'BILLING_VIEWER'
] as const
export type Role = (typeof roles)[number]

export interface OperationAccess {
  /** The operationId of the specification. */
  operationId: string
  /** The roles that may call it. */
  roles: readonly Role[]
}

const readers: readonly Role[] = [
  'ORG_ADMIN',
  'CLUSTER_ADMIN',
  'CLUSTER_OPERATOR_WRITER',
  'CLUSTER_DEVELOPER',
  'FOLDER_ADMIN',
  'FOLDER_MOVER',
  'METRICS_VIEWER',
  'CLUSTER_MONITOR'
]
const streamReaders: readonly Role[] = ['CLUSTER_ADMIN', 'CLUSTER_OPERATOR_WRITER', 'CLUSTER_DEVELOPER']
const operators: readonly Role[] = ['CLUSTER_ADMIN', 'CLUSTER_OPERATOR_WRITER']

export const operationAccess = {
  getCluster: { operationId: 'CockroachCloud_GetCluster', roles: readers },
  listNodes: {
    operationId: 'CockroachCloud_ListClusterNodes',
    roles: ['ORG_ADMIN', 'CLUSTER_ADMIN', 'CLUSTER_OPERATOR_WRITER', 'CLUSTER_DEVELOPER']
  },
  getConnectionString: { operationId: 'CockroachCloud_GetConnectionString', roles: readers },
  getDisruption: { operationId: 'CockroachCloud_GetClusterDisruptionInfo', roles: operators },
  putDisruption: { operationId: 'CockroachCloud_UpdateClusterDisruption', roles: operators },
  listStreams: { operationId: 'CockroachCloud_ListPhysicalReplicationStreams', roles: streamReaders },
  getStream: { operationId: 'CockroachCloud_GetPhysicalReplicationStream', roles: streamReaders },
  createStream: { operationId: 'CockroachCloud_CreatePhysicalReplicationStream', roles: ['CLUSTER_ADMIN'] },
  patchStream: { operationId: 'CockroachCloud_UpdatePhysicalReplicationStream', roles: ['CLUSTER_ADMIN'] }
} as const satisfies Record<string, OperationAccess>

export type AccessControlledOperation = keyof typeof operationAccess

/** Whether a holder of `held` may call the operation. */
export function mayCall(operation: AccessControlledOperation, held: readonly Role[]): boolean {
  const allowed: readonly Role[] = operationAccess[operation].roles
  return held.some((role) => allowed.includes(role))
}
