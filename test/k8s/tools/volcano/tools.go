//go:build tools

// Package tools pins Volcano's scheduler and controller manager (volcano.sh/volcano v1.10.0);
// scripts/k8s-testenv build-volcano builds them into the cache. Volcano's CRDs come from the
// same module (config/crd/volcano/bases).
package tools

import (
	_ "volcano.sh/volcano/cmd/controller-manager"
	_ "volcano.sh/volcano/cmd/scheduler"
)
