// Event Hubs: the transport between the generator and Databricks.
// Clients authenticate with Entra ID only (no SAS keys); Spark reads through the Kafka endpoint.

@description('Event Hubs namespace name: 6-50 letters, digits and hyphens.')
@minLength(6)
@maxLength(50)
param namespaceName string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object = {}

@description('Standard for dev and modest load; Premium for isolation and longer retention.')
@allowed([
  'Standard'
  'Premium'
])
param skuName string = 'Standard'

@description('Throughput units (Standard) or processing units (Premium: 1, 2, 4, 8 or 16).')
@minValue(1)
@maxValue(40)
param capacity int = 1

@description('Event hubs to create. adverse-events carries openFDA drug adverse-event reports.')
param eventHubNames string[] = [
  'adverse-events'
]

@description('Partitions per hub; reports are keyed by safetyreportid, so more partitions means more parallel readers.')
@minValue(1)
@maxValue(32)
param partitionCount int = 4

@description('Days an event is kept: at most 7 on Standard, 90 on Premium.')
@minValue(1)
@maxValue(90)
param messageRetentionInDays int = 1

@description('Consumer group that Databricks Structured Streaming reads with.')
param consumerGroupName string = 'databricks'

@description('Log Analytics workspace that receives the namespace logs and metrics.')
param logAnalyticsWorkspaceId string

@description('Archive every event to ADLS as Avro (Event Hubs Capture).')
param enableCapture bool = false

@description('Storage account that Capture writes to.')
param captureStorageAccountName string

@description('Container that Capture writes to.')
param captureContainerName string = 'landing'

// Built-in role: Storage Blob Data Contributor, for Capture's managed identity.
var storageBlobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: namespaceName
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: skuName
    capacity: capacity
  }
  // Capture writes to storage with this identity, since the account refuses shared keys.
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

resource captureStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: captureStorageAccountName
}

resource captureRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (enableCapture) {
  name: guid(captureStorage.id, namespace.id, storageBlobDataContributorRoleId)
  scope: captureStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
    principalId: namespace.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource hubs 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = [for hubName in eventHubNames: {
  parent: namespace
  name: hubName
  properties: {
    partitionCount: partitionCount
    messageRetentionInDays: messageRetentionInDays
    captureDescription: enableCapture ? {
      enabled: true
      encoding: 'Avro'
      intervalInSeconds: 300
      sizeLimitInBytes: 314572800
      skipEmptyArchives: true
      destination: {
        name: 'EventHubArchive.AzureBlockBlob'
        identity: {
          type: 'SystemAssigned'
        }
        properties: {
          storageAccountResourceId: captureStorage.id
          blobContainer: captureContainerName
          archiveNameFormat: 'capture/{Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}'
        }
      }
    } : null
  }
  // Capture checks its write access when the hub is created.
  dependsOn: [
    captureRoleAssignment
  ]
}]

resource consumerGroups 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = [for (hubName, i) in eventHubNames: {
  parent: hubs[i]
  name: consumerGroupName
  properties: {
    userMetadata: 'Databricks Structured Streaming'
  }
}]

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: namespace
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output id string = namespace.id
output name string = namespace.name
// serviceBusEndpoint is https://<name>.servicebus.windows.net:443/ in the public cloud.
output fqdn string = replace(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':443/', '')
output eventHubNames string[] = [for (hubName, i) in eventHubNames: hubs[i].name]
output consumerGroupName string = consumerGroupName
