// The one storage account: Functions host storage (identity-based AzureWebJobsStorage), the
// Flex deployment container, and the product's tables and queues. Keys are disabled, so every
// client (host, app, deployer, azd) authenticates with Entra ID.
param name string
param location string
param tags object = {}
param deploymentContainerName string

@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
  'Standard_RAGRS'
  'Standard_RAGZRS'
])
@description('Replication of the metadata account. Geo-redundant by default: the tables are the only record of which snapshots are recovery points.')
param skuName string = 'Standard_GRS'

@description('Private networking: no public network access; the app reaches the account through private endpoints only (core/network/network.bicep).')
param privateNetworking bool = false

// The product's tables and queues (backup/names.py; tests/infra checks they agree).
// Each queue the app triggers on has its -poison twin, where the host moves a message after
// host.json maxDequeueCount failed attempts; creating them up front lets alerts and tools read them.
var productStorage = {
  tables: [
    'vaults'
    'vaultdata'
  ]
  queues: [
    'backup-runs'
    'backup-runs-poison'
    'restores'
    'restores-poison'
  ]
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    dnsEndpointType: 'Standard'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    //checkov:skip=CKV_AZURE_59:Public by default (no VNet, azd uploads the package from the deployer's machine); privateNetworking=true disables it. Keys are off; every caller needs an Entra role.
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    //checkov:skip=CKV_AZURE_35:Allow by default for the same reason; privateNetworking=true denies everything but the private endpoints and trusted Azure services.
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: privateNetworking ? 'Deny' : 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        file: {
          enabled: true
          keyType: 'Account'
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for table in productStorage.tables: {
  parent: tableService
  name: table
}]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for queue in productStorage.queues: {
  parent: queueService
  name: queue
}]

output id string = storage.id
output name string = storage.name
output deploymentContainerName string = deploymentContainer.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
output tableNames array = productStorage.tables
output queueNames array = productStorage.queues
