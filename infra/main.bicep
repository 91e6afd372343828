// Azure Disk Backup (self-hosted): everything `azd up` provisions.
//
// Subscription scope: creates the resource group, then deploys the app's resources into it and,
// optionally, the disk roles the app's identities need on resource groups or subscriptions
// elsewhere. Plain resources in in-repo modules (no registry modules), written for the Bicep
// subset that checkov's pinned parser (pycep-parser 0.5.1) reads: no user-defined types, typed
// arrays, nullable types, imports or deployer(). tests/infra checks this file set offline.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; names the resource group and seeds every resource name.')
param environmentName string

@minLength(1)
@description('Region for every resource. The Flex Consumption plan must be offered there.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the principal running azd (AZURE_PRINCIPAL_ID). Gets data-plane roles for local debugging. Empty: none.')
param principalId string = ''

@description('Type of that principal (AZURE_PRINCIPAL_TYPE): User, ServicePrincipal or Group. Empty means User.')
param principalType string = ''

@description('Name of the resource group to create. Empty: rg-<environmentName>.')
param resourceGroupName string = ''

@description('Comma-separated e-mail addresses that receive the alerts (ALERT_EMAIL_ADDRESSES). Empty: alerts fire without e-mail.')
param alertEmailAddresses string = ''

@description('Client (application) id of the Entra app registration that protects the API (AUTH_CLIENT_ID). Empty: App Service Authentication stays off.')
param authClientId string = ''

@description('Private networking (PRIVATE_NETWORKING): a virtual network the app integrates with, and storage reachable only through private endpoints in it (no public network access). Deploying the code then needs a machine that can reach the storage account (inside the network or peered).')
param privateNetworking bool = false

@description('Resource group or subscription ids where the app identity gets Disk Backup Reader (read source disks, beginGetAccess).')
param diskBackupReaderScopes array = []

@description('Resource group or subscription ids where the app identity gets Disk Snapshot Contributor (create and delete snapshots).')
param diskSnapshotContributorScopes array = []

@description('Resource group or subscription ids where the app identity gets Disk Restore Operator (create restored disks).')
param diskRestoreOperatorScopes array = []

@description('Extra user-assigned identities attached to the app (vaults with their own identity): objects { resourceId, diskBackupReaderScopes?, diskSnapshotContributorScopes?, diskRestoreOperatorScopes? }.')
param extraUserAssignedIdentities array = []

@description('Which vaults may use which extra identity (VAULT_IDENTITY_BINDINGS): an object of identity resource id to the scopes whose vaults may name it (vault ids, resource group or subscription ids, or /). An identity not listed serves no vault; a caller cannot choose it.')
param vaultIdentityBindings object = {}

@description('NCRONTAB (6 fields, UTC) of the planner that enqueues due backups.')
param planBackupsSchedule string = '0 */5 * * * *'

@description('NCRONTAB (6 fields, UTC) of the retention sweep.')
param applyRetentionSchedule string = '0 */15 * * * *'

@description('NCRONTAB (6 fields, UTC) of the recount of each vault\'s overview summary (Backup Center\'s tiles).')
param countOverviewSchedule string = '0 */5 * * * *'

@allowed([
  512
  2048
  4096
])
@description('Memory of each Flex Consumption instance, in MB.')
param instanceMemoryMB int = 2048

@minValue(40)
@maxValue(1000)
@description('Upper bound of Flex Consumption scale-out. 40 is the lowest the plan accepts.')
param maximumInstanceCount int = 40

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
// Must match the service key in azure.yaml: azd finds the app by its azd-service-name tag.
var serviceName = 'api'
var deployerPrincipalType = empty(principalType) ? 'User' : principalType
// azd passes ALERT_EMAIL_ADDRESSES as one string, '' when unset (infra/main.parameters.json).
// Spaces are dropped so 'a@x.com, b@y.com' works too; '' means no e-mail receiver at all.
// tests/infra/test_alert_emails.py evaluates this for set and unset values.
var alertEmailList = replace(alertEmailAddresses, ' ', '')
var alertEmails = empty(alertEmailList) ? [] : split(alertEmailList, ',')

// Flex Consumption apps authenticate to the extra identities' ARM scopes with those identities,
// so they must be attached to the site. userAssignedIdentities is an object keyed by resource id;
// the parser above knows no lambdas that would build it (toObject), so it is built as JSON.
var extraIdentityEntries = [for extra in extraUserAssignedIdentities: '"${extra.resourceId}": {}']
var extraIdentityObject = json(concat('{', join(extraIdentityEntries, ','), '}'))

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'core/security/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'core/monitor/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'core/storage/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: 'app-package-${resourceToken}'
    privateNetworking: privateNetworking
  }
}

module network 'core/network/network.bicep' = if (privateNetworking) {
  name: 'network'
  scope: rg
  params: {
    name: '${abbrs.networkVirtualNetworks}${resourceToken}'
    location: location
    tags: tags
    storageAccountId: storage.outputs.id
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    appPrincipalId: identity.outputs.principalId
    deployerPrincipalId: principalId
    deployerPrincipalType: deployerPrincipalType
  }
}

module functionApp 'app/function.bicep' = {
  name: 'function'
  scope: rg
  params: {
    name: '${abbrs.webSitesFunctions}${resourceToken}'
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: union(tags, {
      'azd-service-name': serviceName
    })
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    extraIdentities: extraIdentityObject
    vaultIdentityBindings: string(vaultIdentityBindings)
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    planBackupsSchedule: planBackupsSchedule
    applyRetentionSchedule: applyRetentionSchedule
    countOverviewSchedule: countOverviewSchedule
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    authClientId: authClientId
    // With private networking the app also waits for the storage's private endpoints (through this output).
    appSubnetId: privateNetworking ? network.outputs.appSubnetId : ''
  }
  // The host needs its storage roles before it starts, or the first start fails and backs off.
  dependsOn: [
    rbac
  ]
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    namePrefix: '${abbrs.insightsScheduledQueryRules}${resourceToken}'
    actionGroupName: '${abbrs.actionGroups}${resourceToken}'
    location: location
    tags: tags
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    emailAddresses: alertEmails
  }
}

// Disk roles for the app identity on the resource groups or subscriptions it protects.
module appDiskRoles 'app/disk-roles.bicep' = {
  name: 'disk-roles-${resourceToken}'
  params: {
    principalId: identity.outputs.principalId
    diskBackupReaderScopes: diskBackupReaderScopes
    diskSnapshotContributorScopes: diskSnapshotContributorScopes
    diskRestoreOperatorScopes: diskRestoreOperatorScopes
  }
}

// The same for each extra identity. It lives in another resource group, maybe another subscription.
resource extraIdentities 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = [for extra in extraUserAssignedIdentities: {
  name: last(split(extra.resourceId, '/'))
  scope: resourceGroup(split(extra.resourceId, '/')[2], split(extra.resourceId, '/')[4])
}]

module extraDiskRoles 'app/disk-roles.bicep' = [for (extra, i) in extraUserAssignedIdentities: {
  name: 'disk-roles-${resourceToken}-${i}'
  params: {
    principalId: extraIdentities[i].properties.principalId
    diskBackupReaderScopes: contains(extra, 'diskBackupReaderScopes') ? extra.diskBackupReaderScopes : []
    diskSnapshotContributorScopes: contains(extra, 'diskSnapshotContributorScopes') ? extra.diskSnapshotContributorScopes : []
    diskRestoreOperatorScopes: contains(extra, 'diskRestoreOperatorScopes') ? extra.diskRestoreOperatorScopes : []
  }
}]

// azd reads these into the environment (.azure/<env>/.env).
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = functionApp.outputs.name
output SERVICE_API_URI string = functionApp.outputs.uri
output AZURE_FUNCTION_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_URL string = functionApp.outputs.uri
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
output AZURE_USER_ASSIGNED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_USER_ASSIGNED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_STORAGE_QUEUE_ENDPOINT string = storage.outputs.queueEndpoint
output AZURE_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
