#include "cli/server_command.h"

#include <signal.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <fstream>

#include "base/clock.h"
#include "server/control_plane.h"

namespace kumo::cli {
namespace {

void Usage(FILE* f) {
  std::fprintf(
      f,
      "usage: kumo server --data-dir DIR [--listen 127.0.0.1:PORT] [--config FILE]\n"
      "                   [--inventory FILE] [--no-cgroups]\n\n"
      "  --data-dir DIR     store (kumo.db), job dirs, admin.token (created if missing)\n"
      "  --listen ADDR      HOST:PORT of the API (default 127.0.0.1:7080; port 0: any)\n"
      "  --config FILE      server config (YAML, docs/control-plane.md); flags override it\n"
      "  --inventory FILE   emulated nodes (YAML); default: this machine as one node\n"
      "  --no-cgroups       do not create cgroups for tasks (account only)\n");
}

std::string SelfPath(const char* argv0) {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) return std::string(buf, static_cast<size_t>(n));
  return argv0;
}

}  // namespace

int RunServer(const std::vector<std::string>& args, const char* argv0) {
  server::ServerConfig config;
  config.listen = "127.0.0.1:7080";
  std::string config_file, inventory, listen, data_dir;
  bool no_cgroups = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "kumo server: %s needs a value\n", a.c_str());
        return false;
      }
      *out = args[++i];
      return true;
    };
    if (a == "--help" || a == "-h") {
      Usage(stdout);
      return 0;
    } else if (a == "--data-dir") {
      if (!value(&data_dir)) return 2;
    } else if (a == "--listen") {
      if (!value(&listen)) return 2;
    } else if (a == "--config") {
      if (!value(&config_file)) return 2;
    } else if (a == "--inventory") {
      if (!value(&inventory)) return 2;
    } else if (a == "--no-cgroups") {
      no_cgroups = true;
    } else {
      std::fprintf(stderr, "kumo server: unknown flag \"%s\"\n", a.c_str());
      Usage(stderr);
      return 2;
    }
  }
  if (!config_file.empty()) {
    auto c = server::LoadServerConfig(config_file, config);
    if (!c) {
      std::fprintf(stderr, "kumo server: %s\n", c.error().message().c_str());
      return 2;
    }
    config = *c;
  }
  if (data_dir.empty()) {
    std::fprintf(stderr, "kumo server: --data-dir is required\n");
    Usage(stderr);
    return 2;
  }
  config.data_dir = data_dir;
  if (!listen.empty()) config.listen = listen;
  if (!inventory.empty()) config.inventory_file = inventory;
  if (no_cgroups) config.use_cgroups = false;
  // The static kumo-shim beside this binary starts far faster than this whole binary; without
  // it (a copied-out kumo), `kumo __task-shim` does the same job.
  config.shim_binary = SelfPath(argv0);
  {
    std::string sibling =
        config.shim_binary.substr(0, config.shim_binary.rfind('/') + 1) + "kumo-shim";
    if (access(sibling.c_str(), X_OK) == 0) config.shim_binary = sibling;
  }

  // Block the stop signals before any thread starts, then wait for one of them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto srv = server::ControlPlane::Start(config, SystemClock());
  if (!srv) {
    std::fprintf(stderr, "kumo server: %s\n", srv.error().message().c_str());
    return 1;
  }
  auto hp = config.listen.substr(0, config.listen.rfind(':'));
  {
    std::ofstream port_file(config.data_dir + "/server.port.tmp");
    port_file << (*srv)->port() << "\n";
  }
  std::rename((config.data_dir + "/server.port.tmp").c_str(),
              (config.data_dir + "/server.port").c_str());
  std::printf("kumo server: listening on %s:%u (admin token in %s)\n", hp.c_str(), (*srv)->port(),
              (*srv)->admin_token_path().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  std::printf("kumo server: stopping (signal %d); running tasks keep running\n", sig);
  (*srv)->Stop();
  return 0;
}

}  // namespace kumo::cli
