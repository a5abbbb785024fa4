#include "executor/kubernetes/kube_config.h"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kumo::executor::kube {
namespace fs = std::filesystem;

namespace {

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(Status::IoError("cannot read " + path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// "https://host:port[/...]" -> host, port. IPv6 hosts are bracketed ("https://[::1]:6443").
Status ParseServerUrl(const std::string& url, KubeConfig* c) {
  const std::string scheme = "https://";
  if (url.rfind(scheme, 0) != 0) return Status::InvalidArgument("must be an https:// URL");
  std::string rest = url.substr(scheme.size());
  rest = rest.substr(0, rest.find('/'));
  size_t colon = rest.rfind(':');
  if (!rest.empty() && rest[0] == '[') {
    size_t close = rest.find(']');
    if (close == std::string::npos) return Status::InvalidArgument("unclosed '[' in host");
    c->host = rest.substr(1, close - 1);
    if (colon != std::string::npos && colon > close) c->port = rest.substr(colon + 1);
  } else if (colon != std::string::npos) {
    c->host = rest.substr(0, colon);
    c->port = rest.substr(colon + 1);
  } else {
    c->host = rest;
  }
  if (c->host.empty()) return Status::InvalidArgument("no host");
  if (c->port.empty()) c->port = "443";  // https's own (EKS and GKE kubeconfigs name none)
  return Status::Ok();
}

// The entry of kubeconfig list `list` (clusters, users, contexts) called `name`.
YAML::Node Named(const YAML::Node& root, const char* list, const std::string& name) {
  for (const YAML::Node& e : root[list])
    if (e["name"] && e["name"].as<std::string>() == name) return e;
  return YAML::Node();
}

// The PEM of field `key` (base64 in key-data, or a file relative to the kubeconfig in key).
Result<std::string> Pem(const YAML::Node& n, const std::string& key, const fs::path& dir) {
  if (n[key + "-data"]) return DecodeBase64(n[key + "-data"].as<std::string>());
  if (n[key]) {
    fs::path file = n[key].as<std::string>();
    return ReadFile(file.is_absolute() ? file.string() : (dir / file).string());
  }
  return std::string();
}

Status ReadUser(const YAML::Node& user, const fs::path& dir, KubeConfig* c) {
  if (user["token"]) c->token = user["token"].as<std::string>();
  if (user["tokenFile"]) c->token_file = user["tokenFile"].as<std::string>();
  auto cert = Pem(user, "client-certificate", dir);
  if (!cert) return Status::InvalidArgument("client-certificate: " + cert.error().message());
  auto key = Pem(user, "client-key", dir);
  if (!key) return Status::InvalidArgument("client-key: " + key.error().message());
  c->client_cert_pem = *cert;
  c->client_key_pem = *key;
  if (c->client_cert_pem.empty() != c->client_key_pem.empty())
    return Status::InvalidArgument("client-certificate and client-key go together");
  if (c->token.empty() && c->token_file.empty() && c->client_cert_pem.empty())
    return Status::InvalidArgument("no token, tokenFile or client certificate");
  return Status::Ok();
}

}  // namespace

Result<std::string> DecodeBase64(std::string_view text) {
  std::string clean;
  for (char ch : text)
    if (!std::isspace(static_cast<unsigned char>(ch))) clean += ch;
  if (clean.size() % 4 != 0) return Error(Status::InvalidArgument("not base64 (length)"));
  std::string out(clean.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(clean.data()),
                          static_cast<int>(clean.size()));
  if (n < 0) return Error(Status::InvalidArgument("not base64"));
  // EVP_DecodeBlock counts the bytes the padding stands for as zeros; drop them.
  size_t pad = 0;
  for (size_t i = clean.size(); i > 0 && clean[i - 1] == '=' && pad < 2; --i) ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

Result<KubeConfig> LoadKubeconfig(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return Error(Status::InvalidArgument(path + ": " + e.what()));
  }
  auto fail = [&](const std::string& field, const std::string& message) {
    return Error(Status::InvalidArgument(path + ": " + field + ": " + message));
  };
  try {
    if (!root["current-context"]) return fail("current-context", "required");
    std::string context_name = root["current-context"].as<std::string>();
    YAML::Node context = Named(root, "contexts", context_name)["context"];
    if (!context) return fail("contexts[" + context_name + "]", "not found");
    std::string cluster_name = context["cluster"].as<std::string>("");
    std::string user_name = context["user"].as<std::string>("");
    YAML::Node cluster = Named(root, "clusters", cluster_name)["cluster"];
    if (!cluster) return fail("clusters[" + cluster_name + "]", "not found");
    YAML::Node user = Named(root, "users", user_name)["user"];
    if (!user) return fail("users[" + user_name + "]", "not found");

    KubeConfig c;
    const std::string cf = "clusters[" + cluster_name + "].cluster";
    if (Status s = ParseServerUrl(cluster["server"].as<std::string>(""), &c); !s.ok())
      return fail(cf + ".server", s.message());
    fs::path dir = fs::path(path).parent_path();
    auto ca = Pem(cluster, "certificate-authority", dir);
    if (!ca) return fail(cf + ".certificate-authority", ca.error().message());
    c.ca_pem = *ca;
    c.insecure_skip_verify = cluster["insecure-skip-tls-verify"].as<bool>(false);
    if (Status s = ReadUser(user, dir, &c); !s.ok())
      return fail("users[" + user_name + "].user", s.message());
    return c;
  } catch (const YAML::Exception& e) {
    return fail("", e.what());
  }
}

Result<KubeConfig> InClusterConfig(const std::string& dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port)
    return Error(Status::FailedPrecondition(
        "not in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set (give --kubeconfig)"));
  KubeConfig c;
  c.host = host;
  c.port = port;
  auto ca = ReadFile(dir + "/ca.crt");
  if (!ca) return Error(ca.error());
  c.ca_pem = *ca;
  c.token_file = dir + "/token";
  if (auto t = ReadFile(c.token_file); !t) return Error(t.error());
  return c;
}

}  // namespace kumo::executor::kube
