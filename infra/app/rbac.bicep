// Data-plane roles on the app's own resources: the app identity (host storage, product tables
// and queues, telemetry) and, for local runs against the cloud, the principal running azd.
param storageAccountName string
param applicationInsightsName string
param appPrincipalId string

@description('Object id of the principal running azd; empty grants nothing.')
param deployerPrincipalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param deployerPrincipalType string = 'User'

var roles = loadJsonContent('../core/security/builtin-roles.json')
var storageRoleIds = [
  // Host storage (timer leases, Flex deployment package) and blobs the product may keep.
  roles.StorageBlobDataOwner
  // backup-runs, restores and their -poison queues (backup/names.py).
  roles.StorageQueueDataContributor
  // vaults and vaultdata (docs/storage.md).
  roles.StorageTableDataContributor
]
var grantDeployer = !empty(deployerPrincipalId)

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource appStorageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleId in storageRoleIds: {
  name: guid(storage.id, appPrincipalId, roleId)
  scope: storage
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
  }
}]

// Application Insights has local auth disabled: telemetry is sent with Entra tokens.
resource appMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, appPrincipalId, roles.MonitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.MonitoringMetricsPublisher)
  }
}

resource deployerStorageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleId in storageRoleIds: if (grantDeployer) {
  name: guid(storage.id, deployerPrincipalId, roleId)
  scope: storage
  properties: {
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
  }
}]

resource deployerMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantDeployer) {
  name: guid(applicationInsights.id, deployerPrincipalId, roles.MonitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.MonitoringMetricsPublisher)
  }
}
