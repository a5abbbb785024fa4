#include "cli/kube_scheduler_command.h"

#include <signal.h>

#include <cstdio>
#include <optional>

#include "base/flags.h"
#include "kubesched/kube_scheduler.h"

namespace kumo::cli {
namespace {

struct KubeSchedulerFlags {
  std::string kubeconfig;
  std::string config_file;
  std::string scheduler_name = "kumo";
  std::vector<std::string> namespaces;
};

// Flags over the config file over the defaults; the exit code when the command must stop now.
std::optional<int> BuildConfig(const std::vector<std::string>& args,
                               kubesched::KubeSchedulerConfig* config) {
  CLI::App app("Schedules the pods whose spec.schedulerName is kumo's until SIGINT or SIGTERM.",
               "kumo kube-scheduler");
  KubeSchedulerFlags f;
  app.add_option("--kubeconfig", f.kubeconfig, "kubeconfig file (default: the pod's service account)");
  app.add_option("--config", f.config_file, "YAML: projects (weights, quotas), policies");
  app.add_option("--scheduler-name", f.scheduler_name, "the spec.schedulerName of kumo's pods")
      ->capture_default_str();
  app.add_option("--namespaces", f.namespaces, "watched namespaces, comma-separated (default: all)")
      ->delimiter(',');
  if (auto exit_code = ParseFlags(app, args)) return exit_code;
  if (!f.config_file.empty()) {
    auto loaded = kubesched::LoadKubeSchedulerConfig(f.config_file, *config);
    if (!loaded) {
      std::fprintf(stderr, "kumo kube-scheduler: %s\n", loaded.error().message().c_str());
      return 2;
    }
    *config = std::move(*loaded);
  }
  config->kubeconfig = f.kubeconfig;
  config->view.scheduler_name = f.scheduler_name;
  config->view.namespaces = f.namespaces;
  return std::nullopt;
}

}  // namespace

int RunKubeScheduler(const std::vector<std::string>& args) {
  kubesched::KubeSchedulerConfig config;
  if (auto exit_code = BuildConfig(args, &config)) return *exit_code;

  // Block the stop signals before any thread starts, then wait for one of them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto scheduler = kubesched::KubeScheduler::Create(std::move(config), SystemClock());
  if (!scheduler) {
    std::fprintf(stderr, "kumo kube-scheduler: %s\n", scheduler.error().message().c_str());
    return 1;
  }
  (*scheduler)->Start();
  std::printf("kube-scheduler ready\n");
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  std::printf("kumo kube-scheduler: stopping (signal %d)\n", sig);
  (*scheduler)->Stop();
  return 0;
}

}  // namespace kumo::cli
