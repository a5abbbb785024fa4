// kumo: one binary for the scheduler tools, the control plane and its client, and the dataset
// cache. main only picks the command; each command parses its own flags with CLI11 (base/flags.h)
// and wires its parts. The local executor also re-executes this binary as its task shim.
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "cli/cache_command.h"
#include "cli/client_commands.h"
#include "cli/dataset_command.h"
#include "cli/kube_scheduler_command.h"
#include "cli/results_command.h"
#include "cli/schedule_command.h"
#include "cli/server_command.h"
#include "cli/sim_command.h"
#include "executor/local_executor.h"

namespace {

void Usage(FILE* f) {
  std::fprintf(f,
               "usage: kumo <command> [flags]\n\n"
               "commands:\n"
               "  schedule   run one pass of the scheduling core on a generated cluster and print "
               "its decisions\n"
               "  sim        replay a GPU-cluster trace through the core and compare policies\n"
               "  server     run the control plane (API, store, scheduling loop, local executor)\n"
               "  submit     submit a job: kumo submit -f job.yaml\n"
               "  get        list jobs, nodes or projects: kumo get jobs|nodes|projects [-o json]\n"
               "  describe   everything about a job (tasks, results, provenance, events)\n"
               "  logs       a task's output: kumo logs ID [-f] [--task N] [--stderr]\n"
               "  events     the event log: kumo events [--since SEQ] [-w]\n"
               "  cancel     cancel jobs: kumo cancel ID...\n"
               "  queue      pending jobs in scheduling order, with why each waits\n"
               "  top        GPU use per node and per project\n"
               "  project    create or change a project: kumo project create|set NAME [...]\n"
               "  node       kumo node cordon|uncordon|drain NAME\n"
               "  user       create a user and print its token: kumo user create NAME ...\n"
               "  whoami     the user the token belongs to\n"
               "  cache      node-local dataset cache: kumo cache serve|token [...]\n"
               "  dataset    versioned datasets: kumo dataset push|ls|describe|pull|rm|grant\n"
               "  results    a job's Result records: kumo results ID; kumo get results [--project P]\n"
               "  cp         a job's outputs over the API: kumo cp ID[:PATH] DEST\n"
               "  rerun      the same spec, code snapshot and seed as a new job: kumo rerun ID\n"
               "  kube-scheduler  schedule Kubernetes pods whose schedulerName is kumo\n"
               "  help       this text\n\n"
               "Run 'kumo <command> --help' for a command's flags.\n");
}

}  // namespace

int main(int argc, char** argv) {
  // The local executor re-executes this binary as the shim that waits for each task.
  if (argc > 1 && std::string_view(argv[1]) == "__task-shim")
    return kumo::executor::RunTaskShim(argc - 1, argv + 1);
  if (argc < 2) {
    Usage(stderr);
    return 2;
  }
  std::string_view cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "schedule") return kumo::cli::RunSchedule(args);
  if (cmd == "sim") return kumo::cli::RunSim(args);
  if (cmd == "server") return kumo::cli::RunServer(args, argv[0]);
  if (cmd == "cache") return kumo::cli::RunCacheCommand(args);
  if (cmd == "dataset") return kumo::cli::RunDatasetCommand(args);
  if (cmd == "kube-scheduler") return kumo::cli::RunKubeScheduler(args);
  // Before the client commands: `get results` is here, `get jobs|nodes|projects` there.
  if (kumo::cli::IsResultsCommand(cmd, args))
    return kumo::cli::RunResultsCommand(std::string(cmd), args);
  // submit get describe logs events cancel queue top project node user whoami
  if (kumo::cli::IsClientCommand(cmd)) return kumo::cli::RunClientCommand(std::string(cmd), args);
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    Usage(stdout);
    return 0;
  }
  std::fprintf(stderr, "kumo: unknown command \"%s\"\n", argv[1]);
  Usage(stderr);
  return 2;
}
