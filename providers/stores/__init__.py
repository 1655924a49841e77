"""Stores, one package per type (`vault_kv`, `aws`, `local`), each implementing `providers.base.Store`
split by verb (read, stage, promote, discard, journal, auth) and registered in `providers.base.STORES`
under its config `type:` name."""
