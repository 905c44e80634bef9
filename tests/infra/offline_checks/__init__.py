"""Offline checks of Vigil's deployment assets against published schemas.

Importable functions that return lists of problems (empty means valid), so the tests can run them
on the real files and on deliberately broken fixtures alike:

- bicep:        Bicep syntax, resource types and properties, modules, .bicepparam files
- bicep_rules:  the platform's security rules, checked on the parsed Bicep
- bundle:       Databricks Asset Bundle configuration (databricks.yml and its includes)
"""
