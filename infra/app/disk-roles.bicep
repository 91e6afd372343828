// The disk roles one identity needs to protect disks: Disk Backup Reader where the source disks
// are, Disk Snapshot Contributor where the snapshots go, Disk Restore Operator where restored
// disks are created. Each scope is a resource group id (/subscriptions/<id>/resourceGroups/<name>)
// or a subscription id (/subscriptions/<id>), in any subscription of the tenant; each is granted
// by a small module deployed at that scope. The same roles Azure Backup asks for its vault identity.
targetScope = 'subscription'

@description('Object id of the identity (service principal) to grant.')
param principalId string
param diskBackupReaderScopes array = []
param diskSnapshotContributorScopes array = []
param diskRestoreOperatorScopes array = []

var roles = loadJsonContent('../core/security/builtin-roles.json')

var readerRgScopes = filter(diskBackupReaderScopes, s => contains(toLower(s), '/resourcegroups/'))
var readerSubScopes = filter(diskBackupReaderScopes, s => !contains(toLower(s), '/resourcegroups/'))
var snapshotRgScopes = filter(diskSnapshotContributorScopes, s => contains(toLower(s), '/resourcegroups/'))
var snapshotSubScopes = filter(diskSnapshotContributorScopes, s => !contains(toLower(s), '/resourcegroups/'))
var restoreRgScopes = filter(diskRestoreOperatorScopes, s => contains(toLower(s), '/resourcegroups/'))
var restoreSubScopes = filter(diskRestoreOperatorScopes, s => !contains(toLower(s), '/resourcegroups/'))

module readerRg '../core/security/role-assignment-rg.bicep' = [for target in readerRgScopes: {
  name: take('disk-backup-reader-${uniqueString(target, principalId)}', 64)
  scope: resourceGroup(split(target, '/')[2], split(target, '/')[4])
  params: {
    principalId: principalId
    roleDefinitionId: roles.DiskBackupReader
  }
}]

module readerSub '../core/security/role-assignment-subscription.bicep' = [for target in readerSubScopes: {
  name: take('disk-backup-reader-${uniqueString(target, principalId)}', 64)
  scope: subscription(split(target, '/')[2])
  params: {
    principalId: principalId
    roleDefinitionId: roles.DiskBackupReader
  }
}]

module snapshotRg '../core/security/role-assignment-rg.bicep' = [for target in snapshotRgScopes: {
  name: take('disk-snapshot-contributor-${uniqueString(target, principalId)}', 64)
  scope: resourceGroup(split(target, '/')[2], split(target, '/')[4])
  params: {
    principalId: principalId
    roleDefinitionId: roles.DiskSnapshotContributor
  }
}]

module snapshotSub '../core/security/role-assignment-subscription.bicep' = [for target in snapshotSubScopes: {
  name: take('disk-snapshot-contributor-${uniqueString(target, principalId)}', 64)
  scope: subscription(split(target, '/')[2])
  params: {
    principalId: principalId
    roleDefinitionId: roles.DiskSnapshotContributor
  }
}]

module restoreRg '../core/security/role-assignment-rg.bicep' = [for target in restoreRgScopes: {
  name: take('disk-restore-operator-${uniqueString(target, principalId)}', 64)
  scope: resourceGroup(split(target, '/')[2], split(target, '/')[4])
  params: {
    principalId: principalId
    roleDefinitionId: roles.DiskRestoreOperator
  }
}]

module restoreSub '../core/security/role-assignment-subscription.bicep' = [for target in restoreSubScopes: {
  name: take('disk-restore-operator-${uniqueString(target, principalId)}', 64)
  scope: subscription(split(target, '/')[2])
  params: {
    principalId: principalId
    roleDefinitionId: roles.DiskRestoreOperator
  }
}]
