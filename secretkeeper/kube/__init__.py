"""Kubernetes: the object record shared by manifest/cluster scanning, sync and migration."""
