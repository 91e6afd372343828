// The Flex Consumption plan and the Linux Python function app, with its app settings and,
// optionally, App Service Authentication in front of the HTTP API.
//
// Flex declares the runtime only in functionAppConfig. It rejects FUNCTIONS_WORKER_RUNTIME,
// FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE, WEBSITE_CONTENTSHARE,
// WEBSITE_CONTENTAZUREFILECONNECTIONSTRING, SCM_DO_BUILD_DURING_DEPLOYMENT, ENABLE_ORYX_BUILD,
// WEBSITE_TIME_ZONE and TZ; none of them may appear below (tests/infra checks it).
param name string
param planName string
param location string
param tags object = {}

@description('Resource id of the app identity (user-assigned).')
param identityId string
@description('Client id of the app identity.')
param identityClientId string
@description('More user-assigned identities to attach, as the userAssignedIdentities object: { "<resource id>": {} }.')
param extraIdentities object = {}

param storageAccountName string
param deploymentContainerName string
param applicationInsightsName string

param planBackupsSchedule string
param applyRetentionSchedule string
param countOverviewSchedule string

@description('Days a deleted backup instance keeps its snapshots (soft delete) before they are purged.')
@minValue(1)
@maxValue(180)

@description('The latest a scheduled backup may start after its slot (ISO 8601 duration); later, the slot is recorded as missed (BackupSlotMissed).')
param backupStartWindow string = 'PT1H'

@description('ARM request limits lower than the published ones the app paces itself to, e.g. writes=100+5/s,reads=120+12/s (a bucket of that many requests refilled at that rate); empty: ARM\'s published limits.')
param armBudgetLimits string = ''

@description('JSON: user-assigned identity resource id -> scopes whose vaults may use it (VAULT_IDENTITY_BINDINGS); {}: no vault may use an extra identity.')
param vaultIdentityBindings string = '{}'

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Subnet the app integrates with (private networking: its outbound calls, storage included, go through the virtual network). Empty: no VNet integration.')
param appSubnetId string = ''

@description('Client id of the Entra app registration that protects the API. Empty: no App Service Authentication.')
param authClientId string = ''

@description('Paths that stay anonymous when authentication is on (liveness for probes and people; the API description).')
param anonymousPaths array = [
  '/api/health'
  '/api/openapi.json'
  '/api/backupcenter'
  '/api/backupcenter/assets/*'
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  //checkov:skip=CKV_AZURE_225:Zone redundancy on Flex Consumption is limited to some regions; left to the operator rather than failing deployments elsewhere.
  properties: {
    // Linux.
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: union({
      '${identityId}': {}
    }, extraIdentities)
  }
  //checkov:skip=CKV_AZURE_222:The HTTP API and azd's Flex deployment are reached over the public endpoint; access is Entra-authenticated (authsettingsV2) or key-protected.
  //checkov:skip=CKV_AZURE_17:Callers authenticate with Entra tokens (authsettingsV2), not client certificates.
  //checkov:skip=CKV_AZURE_212:Flex Consumption scales per event from zero; there is no fixed instance count to raise.
  //checkov:skip=CKV_AZURE_213:No App Service health check: Flex instances come and go with load; /api/health is served anonymously for external probes.
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    publicNetworkAccess: 'Enabled'
    virtualNetworkSubnetId: empty(appSubnetId) ? null : appSubnetId
    keyVaultReferenceIdentity: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // The setting names come from backup/config.py, plus the host's own identity-based
      // AzureWebJobsStorage__* and Application Insights settings. No keys, SAS or connection
      // strings with secrets: tests/infra/test_app_settings.py enforces both.
      appSettings: [
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identityClientId
        }
        {
          name: 'AzureWebJobsStorage__blobServiceUri'
          value: storage.properties.primaryEndpoints.blob
        }
        {
          name: 'AzureWebJobsStorage__queueServiceUri'
          value: storage.properties.primaryEndpoints.queue
        }
        {
          name: 'AzureWebJobsStorage__tableServiceUri'
          value: storage.properties.primaryEndpoints.table
        }
        {
          name: 'AZURE_CLIENT_ID'
          value: identityClientId
        }
        {
          name: 'ARM_ENDPOINT'
          value: environment().resourceManager
        }
        {
          name: 'PLAN_BACKUPS_SCHEDULE'
          value: planBackupsSchedule
        }
        {
          name: 'APPLY_RETENTION_SCHEDULE'
          value: applyRetentionSchedule
        }
        {
          name: 'COUNT_OVERVIEW_SCHEDULE'
          value: countOverviewSchedule
        }
        {
          name: 'BACKUP_START_WINDOW'
          value: backupStartWindow
        }
        {
          name: 'ARM_BUDGET_LIMITS'
          value: armBudgetLimits
        }
        {
          name: 'VAULT_IDENTITY_BINDINGS'
          value: vaultIdentityBindings
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: applicationInsights.properties.ConnectionString
        }
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'ClientId=${identityClientId};Authorization=AAD'
        }
      ]
    }
  }
}

// No publishing with a user name and password: azd deploys Flex through the blob container with
// the deployer's Entra identity, so the SCM (Kudu) and FTP basic credentials stay off.
resource scmBasicCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpBasicCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

// App Service Authentication (Easy Auth v2) with Entra ID, on when authClientId is set. Bearer
// tokens only: no client secret, no token store. The token's app roles (BackupReader,
// BackupOperator, RestoreOperator, BackupOwner) reach the code in the X-MS-CLIENT-PRINCIPAL header;
// the code decides what each role may do, held everywhere (narrower grants are the app's own role
// assignments, stored in its tables). Declared even when off (platform.enabled false), so that turning
// it off again is one re-provision, and because checkov 3.3 does not look inside conditional
// resources.
var authEnabled = !empty(authClientId)
var entraProvider = {
  azureActiveDirectory: {
    enabled: true
    registration: {
      clientId: authClientId
      openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
    }
    validation: {
      allowedAudiences: [
        'api://${authClientId}'
        authClientId
      ]
    }
  }
}

resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov's parser (pycep) allows at most four comment lines between two properties.
  //checkov:skip=CKV_AZURE_13:This is the v2 schema (platform.enabled, checked by CKV_AZURE_56); CKV_AZURE_13 reads the v1 'enabled' flag.
  //checkov:skip=CKV_AZURE_222:publicNetworkAccess is a site property, not an authsettingsV2 one (set on the site above).
  //checkov:skip=CKV_AZURE_80:A Python app; no .NET Framework version applies.
  parent: functionApp
  //checkov:skip=CKV_AZURE_88:Flex Consumption has no Azure Files content share; the package lives in a blob container.
  //checkov:skip=CKV_AZURE_63:App Service HTTP logs are not an authsettingsV2 property; Flex sends request telemetry to Application Insights.
  name: 'authsettingsV2'
  //checkov:skip=CKV_AZURE_65:Detailed error pages are not an authsettingsV2 property; Flex sends failures to Application Insights.
  //checkov:skip=CKV_AZURE_66:Failed request tracing is not an authsettingsV2 property; Flex sends failures to Application Insights.
  properties: {
    platform: {
      enabled: authEnabled
    }
    globalValidation: {
      requireAuthentication: authEnabled
      unauthenticatedClientAction: 'Return401'
      excludedPaths: anonymousPaths
    }
    httpSettings: {
      requireHttps: true
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
    identityProviders: authEnabled ? entraProvider : {}
  }
}

output id string = functionApp.id
output name string = functionApp.name
output uri string = 'https://${functionApp.properties.defaultHostName}'
output planId string = plan.id
