// KubeConfig: where the Kubernetes API server is and how kumo proves who it is.
//
// Two sources, as client-go reads them:
//   - a kubeconfig file (`kumo server --kubeconfig FILE`): the cluster and user of its
//     current-context; server URL, CA (certificate-authority-data, or a certificate-authority
//     file relative to the kubeconfig), and a bearer token (token / tokenFile) or a client
//     certificate and key (client-certificate[-data], client-key[-data]);
//   - the pod's service account when kumo runs in the cluster: KUBERNETES_SERVICE_HOST/PORT and
//     <dir>/token, <dir>/ca.crt (dir = /var/run/secrets/kubernetes.io/serviceaccount). The token
//     is re-read before every request (kubelet rotates projected tokens), so it is kept as a path.
//
// Errors name the file and the field ("kubeconfig.yaml: users[admin].user: no token or client
// certificate"). Only https servers are accepted: a bearer token never travels in clear text.
#pragma once

#include <string>

#include "base/status.h"

namespace kumo::executor::kube {

struct KubeConfig {
  std::string host;  // e.g. "127.0.0.1" or "kube.example.org"
  std::string port = "443";
  std::string ca_pem;           // trusted CA certificates (PEM); empty: the system's store
  bool insecure_skip_verify = false;
  std::string token;            // bearer token; empty when token_file or a client cert is used
  std::string token_file;       // re-read on every request when set
  std::string client_cert_pem;  // client certificate and key (PEM), both or neither
  std::string client_key_pem;
};

inline constexpr char kServiceAccountDir[] = "/var/run/secrets/kubernetes.io/serviceaccount";

Result<KubeConfig> LoadKubeconfig(const std::string& path);
// In-cluster: the environment's KUBERNETES_SERVICE_HOST/PORT, the token and CA under `dir`.
Result<KubeConfig> InClusterConfig(const std::string& dir = kServiceAccountDir);

// Standard base64 (RFC 4648 §4, padding required, whitespace ignored), as kubeconfig's *-data
// fields carry PEM; nullopt on any other byte.
Result<std::string> DecodeBase64(std::string_view text);

}  // namespace kumo::executor::kube
