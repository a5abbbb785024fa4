#include "cli/server_command.h"

#include <unistd.h>

#include <climits>
#include <cstdio>
#include <optional>

#include "base/durable_file.h"
#include "base/clock.h"
#include "base/flags.h"
#include "cli/stop_signals.h"
#include "executor/private_files.h"
#include "server/control_plane.h"

namespace kumo::cli {
namespace {

struct ServerFlags {
  std::string data_dir, listen, config_file, inventory;
  bool no_cgroups = false;
  // Empty: the config file's, or the default.
  std::string executor, kubeconfig, namespace_name, data_claim, node_selector;
  std::vector<std::string> cache_servers;
};

// Returns the exit code when the command should stop now (--help, a usage error).
std::optional<int> ParseServerFlags(const std::vector<std::string>& args, CLI::App& app,
                                    ServerFlags* flags) {
  // A repeated flag: the last one wins, as with the hand-written parser this replaced.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--data-dir", flags->data_dir,
                 "store (kumo.db), job dirs, admin.token (created if missing)")
      ->type_name("DIR");
  app.add_option("--listen", flags->listen,
                 "HOST:PORT of the API (default 127.0.0.1:7080; port 0: any)")
      ->type_name("ADDR");
  app.add_option("--config", flags->config_file,
                 "server config (YAML, docs/control-plane.md); flags override it")
      ->type_name("FILE");
  app.add_option("--inventory", flags->inventory,
                 "emulated nodes (YAML); default: this machine as one node")
      ->type_name("FILE");
  app.add_option("--cache", flags->cache_servers,
                 "kumo cache server(s) holding dataset bytes (docs/datasets.md)")
      ->type_name("HOST:PORT")
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_flag("--no-cgroups", flags->no_cgroups, "do not create cgroups for tasks (account only)");
  app.add_option("--executor", flags->executor,
                 "where tasks run: local (processes here) or kubernetes (pods; docs/kubernetes.md)")
      ->check(CLI::IsMember({"local", "kubernetes"}))
      ->type_name("KIND");
  app.add_option("--kubeconfig", flags->kubeconfig,
                 "kubeconfig of the cluster (kubernetes executor; default: in-cluster account)")
      ->type_name("FILE");
  app.add_option("--namespace", flags->namespace_name,
                 "namespace of the pods kumo creates (kubernetes executor; default: default)")
      ->type_name("NS");
  app.add_option("--node-selector", flags->node_selector,
                 "manage only the nodes with these labels (kubernetes executor; default: all)")
      ->type_name("K=V[,K=V]");
  app.add_option("--data-claim", flags->data_claim,
                 "PVC mounted in every pod for checkpoints and outputs (kubernetes executor)")
      ->type_name("PVC");
  return ParseFlags(app, args);
}

std::string SelfPath(const char* argv0) {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) return std::string(buf, static_cast<size_t>(n));
  return argv0;
}

// The static kumo-shim beside this binary starts far faster than this whole binary; without
// it (a copied-out kumo), `kumo __task-shim` does the same job.
std::string ShimBinary(const char* argv0) {
  std::string self = SelfPath(argv0);
  std::string sibling = self.substr(0, self.rfind('/') + 1) + "kumo-shim";
  return access(sibling.c_str(), X_OK) == 0 ? sibling : self;
}

// The defaults, then the config file, then the flags. Exit code 2 on an error, reported.
std::optional<int> BuildConfig(const ServerFlags& flags, const CLI::App& app,
                               server::ServerConfig* config) {
  config->listen = "127.0.0.1:7080";
  if (!flags.config_file.empty()) {
    auto c = server::LoadServerConfig(flags.config_file, *config);
    if (!c) {
      std::fprintf(stderr, "kumo server: %s\n", c.error().message().c_str());
      return 2;
    }
    *config = *c;
  }
  if (flags.data_dir.empty()) {
    std::fprintf(stderr, "kumo server: --data-dir is required\n%s", app.help().c_str());
    return 2;
  }
  config->data_dir = flags.data_dir;
  if (!flags.listen.empty()) config->listen = flags.listen;
  if (!flags.inventory.empty()) config->inventory_file = flags.inventory;
  if (flags.no_cgroups) config->use_cgroups = false;
  if (!flags.executor.empty()) config->executor = *server::ParseExecutorKind(flags.executor);  // checked by IsMember
  if (!flags.kubeconfig.empty()) config->kubernetes.kubeconfig = flags.kubeconfig;
  if (!flags.namespace_name.empty()) config->kubernetes.pods.namespace_name = flags.namespace_name;
  if (!flags.data_claim.empty()) config->kubernetes.pods.data_claim = flags.data_claim;
  if (!flags.node_selector.empty()) {
    auto selector = executor::kube::ParseNodeSelector(flags.node_selector);
    if (!selector) {
      std::fprintf(stderr, "kumo server: --node-selector: %s\n", selector.error().message().c_str());
      return 2;
    }
    config->kubernetes.node_selector = std::move(*selector);
  }
  if (!flags.cache_servers.empty()) config->cache_servers = flags.cache_servers;
  return std::nullopt;
}

// DIR/server.port, written atomically (0600, like everything in the data dir), for scripts that
// start the server with port 0.
void WritePortFile(const std::string& data_dir, uint16_t port) {
  Status s = WriteFileDurably(data_dir + "/server.port", std::to_string(port) + "\n", 0600);
  if (!s.ok()) std::fprintf(stderr, "kumo server: %s\n", s.message().c_str());
}

}  // namespace

int RunServer(const std::vector<std::string>& args, const char* argv0) {
  CLI::App app("Runs the kumo control plane until SIGINT or SIGTERM.", "kumo server");
  ServerFlags flags;
  if (auto exit_code = ParseServerFlags(args, app, &flags)) return *exit_code;
  server::ServerConfig config;
  if (auto exit_code = BuildConfig(flags, app, &config)) return *exit_code;
  config.shim_binary = ShimBinary(argv0);

  sigset_t stop = BlockStopSignals();

  auto srv = server::ControlPlane::Start(config, SystemClock());
  if (!srv) {
    std::fprintf(stderr, "kumo server: %s\n", srv.error().message().c_str());
    return 1;
  }
  auto hp = config.listen.substr(0, config.listen.rfind(':'));
  WritePortFile(config.data_dir, (*srv)->port());
  std::printf("kumo server: listening on %s:%u (admin token in %s)\n", hp.c_str(), (*srv)->port(),
              (*srv)->admin_token_path().c_str());
  std::fflush(stdout);
  int sig = WaitForStopSignal(stop);
  std::printf("kumo server: stopping (signal %d); running tasks keep running\n", sig);
  (*srv)->Stop();
  return 0;
}

}  // namespace kumo::cli
