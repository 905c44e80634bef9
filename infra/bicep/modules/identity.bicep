// The generator's identity: it sends events to Event Hubs with an Entra token, never a key.

@description('User-assigned identity name.')
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object = {}

resource generator 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = generator.id
output clientId string = generator.properties.clientId
output principalId string = generator.properties.principalId
