// Development: smallest sizes, pauses when idle. Tenant-specific ids come from the environment,
// so none are committed:
//   export VIGIL_SQL_ADMIN_GROUP_NAME=... VIGIL_SQL_ADMIN_GROUP_ID=... [VIGIL_OPERATOR_ID=...]
using 'main.bicep'

param environmentName = 'dev'

param eventHubsSku = 'Standard'
param eventHubsCapacity = 1
param eventHubNames = [
  'adverse-events'
]
param eventHubPartitionCount = 2
param eventHubRetentionDays = 1
param enableCapture = false

param storageSku = 'Standard_LRS'

param sqlAdminGroupName = readEnvironmentVariable('VIGIL_SQL_ADMIN_GROUP_NAME')
param sqlAdminGroupObjectId = readEnvironmentVariable('VIGIL_SQL_ADMIN_GROUP_ID')
param sqlDatabaseSkuName = 'GP_S_Gen5'
param sqlDatabaseMaxVCores = 2
param sqlAutoPauseDelayMinutes = 60
param sqlMinCapacity = '0.5'

// A torn-down dev vault blocks its name for this many days (purge protection is always on).
param keyVaultSoftDeleteRetentionDays = 7

param operatorPrincipalId = readEnvironmentVariable('VIGIL_OPERATOR_ID', '')
param databricksAppPrincipalId = readEnvironmentVariable('VIGIL_DATABRICKS_APP_ID', '')
