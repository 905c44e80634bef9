// Azure Databricks workspace (Premium: Unity Catalog, job ACLs) and the access connector whose
// managed identity Unity Catalog uses to reach ADLS and Event Hubs.

@description('Databricks workspace name.')
param workspaceName string

@description('Access connector name.')
param accessConnectorName string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object = {}

@description('Resource group that Databricks creates and manages for the workspace; must not exist yet.')
param managedResourceGroupName string = 'databricks-rg-${workspaceName}'

resource workspace 'Microsoft.Databricks/workspaces@2024-05-01' = {
  name: workspaceName
  location: location
  tags: tags
  sku: {
    name: 'premium'
  }
  properties: {
    managedResourceGroupId: subscriptionResourceId('Microsoft.Resources/resourceGroups', managedResourceGroupName)
    parameters: {
      // Cluster nodes get no public IP addresses (secure cluster connectivity).
      enableNoPublicIp: {
        value: true
      }
    }
  }
}

resource accessConnector 'Microsoft.Databricks/accessConnectors@2024-05-01' = {
  name: accessConnectorName
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {}
}

output workspaceId string = workspace.id
output workspaceUrl string = 'https://${workspace.properties.workspaceUrl}'
output accessConnectorId string = accessConnector.id
output accessConnectorPrincipalId string = accessConnector.identity.principalId
