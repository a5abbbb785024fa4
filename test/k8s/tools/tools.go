//go:build tools

// Package tools pins the binaries of kumo's Kubernetes test control plane. Nothing here is
// shipped: scripts/k8s-testenv builds these mains with `go build` into a cache outside the
// repository, keyed by the hash of go.sum, so every machine runs the same releases.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
