"""Rotation's providers: stores that hold managed secrets and issuers that make credentials.

`providers.base` holds the interfaces, records and registries; `providers.stores` and `providers.issuers`
the implementations, one package per type.
"""
