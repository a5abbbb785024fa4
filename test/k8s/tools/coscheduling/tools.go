//go:build tools

// Package tools pins the coscheduling scheduler (kube-scheduler with sigs.k8s.io/scheduler-plugins
// compiled in) and its PodGroup controller; scripts/k8s-testenv build-coscheduling builds them
// into the cache. The PodGroup CRD comes from the same module (manifests/coscheduling/crd.yaml).
package tools

import (
	_ "sigs.k8s.io/scheduler-plugins/cmd/controller"
	_ "sigs.k8s.io/scheduler-plugins/cmd/scheduler"
)
