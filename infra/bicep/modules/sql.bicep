// Azure SQL: the serving database that Power BI reads. Only Entra ID identities can sign in.

@description('Logical server name: lowercase letters, digits and hyphens.')
param serverName string

@description('Database name.')
param databaseName string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object = {}

@description('Display name of the Entra group that administers the server.')
param adminGroupName string

@description('Object id of that Entra group.')
param adminGroupObjectId string

@description('Enabled lets clients in through the firewall; Disabled needs private endpoints, which this template does not create.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

@description('Let Azure services (Databricks jobs, Power BI service) through the firewall.')
param allowAzureServices bool = true

@description('Database SKU; GP_S_Gen5 is serverless General Purpose, GP_Gen5 provisioned.')
param skuName string = 'GP_S_Gen5'

@description('SKU tier matching skuName.')
param skuTier string = 'GeneralPurpose'

@description('vCores (the maximum, for serverless).')
@minValue(1)
@maxValue(80)
param maxVCores int = 2

@description('Serverless only: minutes idle before the database pauses; -1 never pauses.')
param autoPauseDelayMinutes int = 60

@description('Serverless only: minimum vCores, as a string because Bicep has no decimals (0.5, 0.75, 1, ...).')
param minCapacity string = '0.5'

@description('Maximum database size in GB.')
@minValue(1)
@maxValue(1024)
param maxSizeGb int = 32

@description('Backup storage redundancy.')
@allowed([
  'Local'
  'Zone'
  'Geo'
])
param backupStorageRedundancy string = 'Local'

@description('Log Analytics workspace that receives the database logs and metrics.')
param logAnalyticsWorkspaceId string

var isServerless = contains(skuName, '_S_')

resource server 'Microsoft.Sql/servers@2023-08-01' = {
  name: serverName
  location: location
  tags: tags
  properties: {
    version: '12.0'
    minimalTlsVersion: '1.2'
    publicNetworkAccess: publicNetworkAccess
    // No SQL logins: no administratorLogin/password, and Entra-only authentication on.
    administrators: {
      administratorType: 'ActiveDirectory'
      azureADOnlyAuthentication: true
      principalType: 'Group'
      login: adminGroupName
      sid: adminGroupObjectId
      tenantId: subscription().tenantId
    }
  }
}

// 0.0.0.0 is the documented marker for "allow Azure services", not an open range.
resource azureServicesFirewallRule 'Microsoft.Sql/servers/firewallRules@2023-08-01' = if (allowAzureServices && publicNetworkAccess == 'Enabled') {
  parent: server
  name: 'AllowAllWindowsAzureIps'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

resource database 'Microsoft.Sql/servers/databases@2023-08-01' = {
  parent: server
  name: databaseName
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: skuTier
    family: 'Gen5'
    capacity: maxVCores
  }
  properties: {
    collation: 'SQL_Latin1_General_CP1_CI_AS'
    maxSizeBytes: maxSizeGb * 1073741824
    // Null leaves the property out, which provisioned SKUs require.
    autoPauseDelay: isServerless ? autoPauseDelayMinutes : null
    minCapacity: isServerless ? json(minCapacity) : null
    requestedBackupStorageRedundancy: backupStorageRedundancy
    zoneRedundant: false
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: database
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    // SQL databases name their metric groups; Basic holds CPU, DTU/vCore, storage and connections.
    metrics: [
      {
        category: 'Basic'
        enabled: true
      }
    ]
  }
}

output serverName string = server.name
output serverFqdn string = server.properties.fullyQualifiedDomainName
output databaseName string = database.name
