// Production: zone-redundant storage, a week of Event Hubs retention, Capture on, and a SQL
// database that never pauses (Power BI refreshes should not wait for a resume).
//   export VIGIL_SQL_ADMIN_GROUP_NAME=... VIGIL_SQL_ADMIN_GROUP_ID=... [VIGIL_DATABRICKS_APP_ID=...]
using 'main.bicep'

param environmentName = 'prod'

param eventHubsSku = 'Standard'
param eventHubsCapacity = 2
param eventHubNames = [
  'adverse-events'
]
param eventHubPartitionCount = 8
param eventHubRetentionDays = 7
param enableCapture = true

param storageSku = 'Standard_ZRS'

param sqlAdminGroupName = readEnvironmentVariable('VIGIL_SQL_ADMIN_GROUP_NAME')
param sqlAdminGroupObjectId = readEnvironmentVariable('VIGIL_SQL_ADMIN_GROUP_ID')
param sqlDatabaseSkuName = 'GP_S_Gen5'
param sqlDatabaseMaxVCores = 4
param sqlAutoPauseDelayMinutes = -1
param sqlMinCapacity = '1'

param logRetentionDays = 90
param databricksAppPrincipalId = readEnvironmentVariable('VIGIL_DATABRICKS_APP_ID', '')
