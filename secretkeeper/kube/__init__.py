"""Kubernetes, for every feature that reads or changes it (scanning now; sync, tokens and migration next).

objects     KubeObject, the object record with the line of every field, and FieldPath
yamllines   the line-keeping YAML/JSON loader, which can also tell the text span of every node
manifests   manifest files -> KubeObjects (size and encoding limits, `kind: List` items)
secretdata  the values Secrets, ConfigMaps and SealedSecrets hold, decoded, with their field paths
client      the API connection (kubeconfig, context, in-cluster) and paginated listing
sealing     values sealed for the sealed-secrets controller (its certificate, scopes, the format)
sync        the rotation's sync targets (manifest, sealed, sops)
"""
