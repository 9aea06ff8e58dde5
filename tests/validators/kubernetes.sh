#!/bin/sh
# Checks the files of `orch export kubernetes` against Kubernetes' OpenAPI schemas, offline:
# kubernetes-validate (pip install kubernetes-validate) bundles them. --strict rejects a field
# the schema does not know, the usual sign of a typo or a field at the wrong level.
#
#   tests/validators/kubernetes.sh out/*.yaml
set -eu
exec kubernetes-validate --strict --kubernetes-version "${KUBERNETES_VERSION:-1.30.0}" "$@"
