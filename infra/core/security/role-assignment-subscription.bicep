// One role assignment for a service principal at the scope of the subscription this module is
// deployed to. Only the disk roles the app needs are allowed.
targetScope = 'subscription'

param principalId string

@allowed([
  '3e5e47e6-65f7-47ef-90b5-e5dd4d455f24' // Disk Backup Reader
  '7efff54f-a5b4-42b5-a1c5-5411624893ce' // Disk Snapshot Contributor
  'b50d9833-a0cb-478e-945f-707fcc997c13' // Disk Restore Operator
])
param roleDefinitionId string

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, roleDefinitionId)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
  }
}

output id string = assignment.id
