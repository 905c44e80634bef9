// Vigil on Azure: everything one environment needs, in one resource group.
//   az deployment group create --resource-group <rg> \
//     --template-file infra/bicep/main.bicep --parameters infra/bicep/main.dev.bicepparam
// See docs/DEPLOY.md for the steps before and after.
targetScope = 'resourceGroup'

// ---- Naming -------------------------------------------------------------------------------

@description('Short lowercase name that starts every resource name.')
@minLength(3)
@maxLength(8)
param baseName string = 'vigil'

@description('Environment; part of every resource name.')
@allowed([
  'dev'
  'prod'
])
param environmentName string

@description('Azure region for every resource.')
param location string = resourceGroup().location

@description('Tags for every resource.')
param tags object = {}

// ---- Event Hubs ---------------------------------------------------------------------------

@description('Event Hubs tier.')
@allowed([
  'Standard'
  'Premium'
])
param eventHubsSku string = 'Standard'

@description('Throughput units (Standard) or processing units (Premium).')
@minValue(1)
@maxValue(40)
param eventHubsCapacity int = 1

@description('Event hubs to create; add names here as new event types arrive.')
param eventHubNames string[] = [
  'adverse-events'
]

@description('Partitions per hub.')
@minValue(1)
@maxValue(32)
param eventHubPartitionCount int = 4

@description('Days an event is kept: at most 7 on Standard, 90 on Premium.')
@minValue(1)
@maxValue(90)
param eventHubRetentionDays int = 1

@description('Consumer group that Databricks reads with.')
param databricksConsumerGroupName string = 'databricks'

@description('Archive every event to the landing container as Avro (Event Hubs Capture).')
param enableCapture bool = false

// ---- Storage ------------------------------------------------------------------------------

@description('Storage replication.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSku string = 'Standard_LRS'

// ---- Azure SQL ----------------------------------------------------------------------------

@description('Display name of the Entra group that administers Azure SQL.')
param sqlAdminGroupName string

@description('Object id of the Entra group that administers Azure SQL.')
param sqlAdminGroupObjectId string

@description('Public network access to Azure SQL.')
@allowed([
  'Enabled'
  'Disabled'
])
param sqlPublicNetworkAccess string = 'Enabled'

@description('Let Azure services (Databricks, Power BI service) through the SQL firewall.')
param sqlAllowAzureServices bool = true

@description('Database SKU: GP_S_Gen5 is serverless General Purpose.')
param sqlDatabaseSkuName string = 'GP_S_Gen5'

@description('SKU tier matching sqlDatabaseSkuName.')
param sqlDatabaseSkuTier string = 'GeneralPurpose'

@description('vCores (the maximum, for serverless).')
@minValue(1)
@maxValue(80)
param sqlDatabaseMaxVCores int = 2

@description('Serverless: idle minutes before the database pauses; -1 never pauses.')
param sqlAutoPauseDelayMinutes int = 60

@description('Serverless: minimum vCores, as a string (0.5, 0.75, 1, ...).')
param sqlMinCapacity string = '0.5'

// ---- Access -------------------------------------------------------------------------------

@description('Optional: object id of a person who runs the generator with az login; gets Event Hubs Data Sender.')
param operatorPrincipalId string = ''

@description('Optional: object id of the AzureDatabricks enterprise app, for a Key Vault-backed secret scope.')
param databricksAppPrincipalId string = ''

// ---- Key Vault and monitoring -------------------------------------------------------------

@description('Days a deleted Key Vault stays recoverable (and its name taken); fixed once the vault exists.')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteRetentionDays int = 90

@description('Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

// Six characters from the subscription and group keep global names (storage, vault, namespace) unique.
var suffix = take(uniqueString(subscription().id, resourceGroup().id, baseName, environmentName), 6)
var prefix = '${baseName}-${environmentName}'
var names = {
  logAnalytics: 'log-${prefix}-${suffix}'
  storageAccount: toLower('st${baseName}${environmentName}${suffix}')
  eventHubsNamespace: 'evhns-${prefix}-${suffix}'
  databricksWorkspace: 'dbw-${prefix}-${suffix}'
  accessConnector: 'dbac-${prefix}-${suffix}'
  sqlServer: toLower('sql-${prefix}-${suffix}')
  sqlDatabase: 'sqldb-${prefix}'
  keyVault: 'kv-${prefix}-${suffix}'
  generatorIdentity: 'id-${prefix}-generator'
}
var allTags = union(tags, {
  application: 'vigil'
  environment: environmentName
})

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    name: names.logAnalytics
    location: location
    tags: allTags
    retentionInDays: logRetentionDays
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: names.storageAccount
    location: location
    tags: allTags
    skuName: storageSku
  }
}

module eventHubs 'modules/eventhubs.bicep' = {
  name: 'eventhubs'
  params: {
    namespaceName: names.eventHubsNamespace
    location: location
    tags: allTags
    skuName: eventHubsSku
    capacity: eventHubsCapacity
    eventHubNames: eventHubNames
    partitionCount: eventHubPartitionCount
    messageRetentionInDays: eventHubRetentionDays
    consumerGroupName: databricksConsumerGroupName
    logAnalyticsWorkspaceId: monitoring.outputs.id
    enableCapture: enableCapture
    captureStorageAccountName: storage.outputs.name
    captureContainerName: 'landing'
  }
}

module databricks 'modules/databricks.bicep' = {
  name: 'databricks'
  params: {
    workspaceName: names.databricksWorkspace
    accessConnectorName: names.accessConnector
    location: location
    tags: allTags
  }
}

module sql 'modules/sql.bicep' = {
  name: 'sql'
  params: {
    serverName: names.sqlServer
    databaseName: names.sqlDatabase
    location: location
    tags: allTags
    adminGroupName: sqlAdminGroupName
    adminGroupObjectId: sqlAdminGroupObjectId
    publicNetworkAccess: sqlPublicNetworkAccess
    allowAzureServices: sqlAllowAzureServices
    skuName: sqlDatabaseSkuName
    skuTier: sqlDatabaseSkuTier
    maxVCores: sqlDatabaseMaxVCores
    autoPauseDelayMinutes: sqlAutoPauseDelayMinutes
    minCapacity: sqlMinCapacity
    logAnalyticsWorkspaceId: monitoring.outputs.id
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: names.keyVault
    location: location
    tags: allTags
    softDeleteRetentionInDays: keyVaultSoftDeleteRetentionDays
    logAnalyticsWorkspaceId: monitoring.outputs.id
  }
}

module generatorIdentity 'modules/identity.bicep' = {
  name: 'generator-identity'
  params: {
    name: names.generatorIdentity
    location: location
    tags: allTags
  }
}

module access 'modules/access.bicep' = {
  name: 'access'
  params: {
    storageAccountName: storage.outputs.name
    eventHubsNamespaceName: eventHubs.outputs.name
    keyVaultName: keyVault.outputs.name
    accessConnectorPrincipalId: databricks.outputs.accessConnectorPrincipalId
    generatorPrincipalId: generatorIdentity.outputs.principalId
    operatorPrincipalId: operatorPrincipalId
    databricksAppPrincipalId: databricksAppPrincipalId
  }
}

output eventHubsNamespaceName string = eventHubs.outputs.name
output eventHubsNamespaceFqdn string = eventHubs.outputs.fqdn
output eventHubNames string[] = eventHubs.outputs.eventHubNames
output databricksConsumerGroupName string = eventHubs.outputs.consumerGroupName
output storageAccountName string = storage.outputs.name
output storageDfsEndpoint string = storage.outputs.dfsEndpoint
output storageBlobEndpoint string = storage.outputs.blobEndpoint
output sqlServerFqdn string = sql.outputs.serverFqdn
output sqlDatabaseName string = sql.outputs.databaseName
output databricksWorkspaceUrl string = databricks.outputs.workspaceUrl
output databricksAccessConnectorId string = databricks.outputs.accessConnectorId
output generatorIdentityClientId string = generatorIdentity.outputs.clientId
output keyVaultUri string = keyVault.outputs.uri
