// Who may do what: every data-plane role assignment of the deployment, in one place.
// Built-in role definition ids are the same in every tenant.

@description('Storage account that holds the lakehouse.')
param storageAccountName string

@description('Event Hubs namespace.')
param eventHubsNamespaceName string

@description('Key Vault.')
param keyVaultName string

@description('Principal id of the Databricks access connector (Unity Catalog storage and service credential).')
param accessConnectorPrincipalId string

@description('Principal id of the generator\'s user-assigned identity.')
param generatorPrincipalId string

@description('Optional: object id of a person who runs the generator from a laptop (az login). Empty grants nothing.')
param operatorPrincipalId string = ''

@description('Optional: object id of the AzureDatabricks enterprise application in this tenant, for a Key Vault-backed secret scope. Empty grants nothing.')
param databricksAppPrincipalId string = ''

var roleIds = {
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'
  eventHubsDataSender: '2b629674-e913-4c01-ae53-ef4638d8f975'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
}

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource eventHubsNamespace 'Microsoft.EventHub/namespaces@2024-01-01' existing = {
  name: eventHubsNamespaceName
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

// Unity Catalog reads and writes Delta tables, landing files and checkpoints through the connector.
resource accessConnectorStorage 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, accessConnectorPrincipalId, roleIds.storageBlobDataContributor)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageBlobDataContributor)
    principalId: accessConnectorPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The streaming job reads events through a Unity Catalog service credential on the same connector.
resource accessConnectorEventHubs 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventHubsNamespace.id, accessConnectorPrincipalId, roleIds.eventHubsDataReceiver)
  scope: eventHubsNamespace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.eventHubsDataReceiver)
    principalId: accessConnectorPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource generatorEventHubs 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventHubsNamespace.id, generatorPrincipalId, roleIds.eventHubsDataSender)
  scope: eventHubsNamespace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.eventHubsDataSender)
    principalId: generatorPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource operatorEventHubs 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(eventHubsNamespace.id, operatorPrincipalId, roleIds.eventHubsDataSender)
  scope: eventHubsNamespace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.eventHubsDataSender)
    principalId: operatorPrincipalId
    principalType: 'User'
  }
}

resource databricksAppKeyVault 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(databricksAppPrincipalId)) {
  name: guid(keyVault.id, databricksAppPrincipalId, roleIds.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.keyVaultSecretsUser)
    principalId: databricksAppPrincipalId
    principalType: 'ServicePrincipal'
  }
}
