// JobSpec: the header's example parsed field by field, one table row per class of error (each
// asserting the path and the line), the quantity parsers' edges, and a bounded mutation loop
// that must never crash or throw.
#include "api/job_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <csignal>
#include <cstdint>
#include <string>

namespace kumo::api {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The header's example, verbatim apart from the comments.
const char kFullExample[] = R"(apiVersion: kumo/v1
kind: Job
metadata: {name: ddp-train, labels: {team: vision}}
spec:
  project: vision
  priorityClass: normal
  seed: 42
  gang: {minAvailable: 2}
  topology: {level: leaf, mode: required}
  nodeSelector: {zone: a}
  tolerations: [{key: dedicated, operator: Equal, value: ml, effect: NoSchedule}]
  maxRuntime: 2h
  retry: {backoffLimit: 2, backoff: 10s, maxBackoff: 5m}
  checkpoint: {signal: SIGTERM, gracePeriod: 30s}
  datasets: [{name: mnist, version: 3, mountPath: /data/mnist}]
  outputs: [model.pt]
  taskGroups:
    - name: worker
      replicas: 2
      command: ["/usr/bin/python3", "train.py"]
      workingDir: /home/me/proj
      image: pytorch/pytorch:2.3.0
      env: {FOO: bar}
      resources: {cpu: 1, memory: 2Gi, gpu: 4, gpuModels: [A100], extended: {rdma: 1}}
)";

// Lines 1-4; Spec() inserts at line 5, Group() at line 8 (indent 6).
const char kHead[] = "apiVersion: kumo/v1\nkind: Job\nspec:\n  project: p\n";
const char kGroup[] = "  taskGroups:\n    - name: w\n      command: [run]\n";
std::string Spec(const std::string& lines) { return kHead + lines + kGroup; }
std::string Group(const std::string& lines) { return std::string(kHead) + kGroup + lines; }

JobSpec MustParse(const std::string& yaml) {
  Result<JobSpec> r = ParseJobSpec(yaml);
  EXPECT_TRUE(r.has_value()) << r.error().message() << "\n" << yaml;
  return r.value_or(JobSpec{});
}

TEST(JobSpecParse, FullExample) {
  JobSpec s = MustParse(kFullExample);
  EXPECT_EQ(s.name, "ddp-train");
  EXPECT_EQ(s.labels, (std::map<std::string, std::string>{{"team", "vision"}}));
  EXPECT_EQ(s.project, "vision");
  EXPECT_EQ(s.priority_class, "normal");
  EXPECT_EQ(s.seed, uint64_t{42});
  EXPECT_EQ(s.min_available, 2);
  EXPECT_EQ(s.topology.level, "leaf");
  EXPECT_TRUE(s.topology.required);
  EXPECT_EQ(s.node_selector, (std::map<std::string, std::string>{{"zone", "a"}}));
  ASSERT_EQ(s.tolerations.size(), 1u);
  EXPECT_EQ(s.tolerations[0].key, "dedicated");
  EXPECT_EQ(s.tolerations[0].op, "Equal");
  EXPECT_EQ(s.tolerations[0].value, "ml");
  EXPECT_EQ(s.tolerations[0].effect, "NoSchedule");
  EXPECT_EQ(s.max_runtime_s, 7200);
  EXPECT_EQ(s.retry.backoff_limit, 2);
  EXPECT_EQ(s.retry.backoff_s, 10);
  EXPECT_EQ(s.retry.max_backoff_s, 300);
  EXPECT_EQ(s.checkpoint.signal, SIGTERM);
  EXPECT_EQ(s.checkpoint.grace_period_s, 30);
  ASSERT_EQ(s.datasets.size(), 1u);
  EXPECT_EQ(s.datasets[0].name, "mnist");
  EXPECT_EQ(s.datasets[0].version, 3);
  EXPECT_EQ(s.datasets[0].mount_path, "/data/mnist");
  EXPECT_EQ(s.outputs, std::vector<std::string>{"model.pt"});
  ASSERT_EQ(s.task_groups.size(), 1u);
  const TaskGroupSpec& g = s.task_groups[0];
  EXPECT_EQ(g.name, "worker");
  EXPECT_EQ(g.replicas, 2);
  EXPECT_EQ(g.command, (std::vector<std::string>{"/usr/bin/python3", "train.py"}));
  EXPECT_EQ(g.working_dir, "/home/me/proj");
  EXPECT_EQ(g.env, (std::map<std::string, std::string>{{"FOO", "bar"}}));
  EXPECT_EQ(g.resources.cpu_millis, 1000);
  EXPECT_EQ(g.resources.memory_bytes, int64_t{2} << 30);
  EXPECT_EQ(g.resources.gpu_milli, 4000);
  EXPECT_EQ(g.resources.gpu_models, std::vector<std::string>{"A100"});
  EXPECT_EQ(g.resources.extended, (std::map<std::string, int64_t>{{"rdma", 1}}));
  EXPECT_EQ(s.TotalTasks(), 2);
}

TEST(JobSpecParse, DefaultsOfAMinimalJob) {
  JobSpec s = MustParse(Spec(""));
  EXPECT_EQ(s.name, "");
  EXPECT_EQ(s.priority_class, "normal");
  EXPECT_FALSE(s.seed.has_value());
  EXPECT_FALSE(s.min_available.has_value());
  EXPECT_FALSE(s.max_runtime_s.has_value());
  EXPECT_EQ(s.topology.level, "");
  EXPECT_FALSE(s.topology.required);
  EXPECT_EQ(s.retry.backoff_limit, 0);
  EXPECT_EQ(s.checkpoint.signal, SIGTERM);
  EXPECT_FALSE(s.checkpoint.enabled);  // absent: the job does not checkpoint
  EXPECT_FALSE(s.checkpoint.interval_s.has_value());
  ASSERT_EQ(s.task_groups.size(), 1u);
  EXPECT_EQ(s.task_groups[0].replicas, 1);
  EXPECT_EQ(s.task_groups[0].resources.cpu_millis, 1000);
  EXPECT_EQ(s.task_groups[0].resources.memory_bytes, int64_t{1} << 30);
  EXPECT_EQ(s.task_groups[0].resources.gpu_milli, 0);
}

TEST(JobSpecParse, AcceptsJsonNullsSharesAndTrailingEmptyDocument) {
  JobSpec s = MustParse(
      R"({"apiVersion": "kumo/v1", "kind": "Job", "spec": {"project": "p", "seed": 18446744073709551615,
          "taskGroups": [{"name": "a", "command": ["x"], "resources": {"gpu": "500m", "gpuModels": ["T4"]}},
                         {"name": "b", "replicas": 3, "command": ["y"], "resources": {"gpu": 0.25}}]}})");
  EXPECT_EQ(s.seed, UINT64_MAX);
  ASSERT_EQ(s.task_groups.size(), 2u);
  EXPECT_EQ(s.task_groups[0].resources.gpu_milli, 500);
  EXPECT_EQ(s.task_groups[1].resources.gpu_milli, 250);
  EXPECT_EQ(s.TotalTasks(), 4);
  // `env:` with nothing after it is absent; `---` with nothing after it is no document.
  EXPECT_TRUE(MustParse(Group("      env:\n") + "---\n").task_groups[0].env.empty());
  // A default cap below the asked first delay is raised to it.
  EXPECT_EQ(MustParse(Spec("  retry: {backoff: 10m}\n")).retry.max_backoff_s, 600);
  EXPECT_EQ(MustParse(Spec("  checkpoint: {signal: 10}\n")).checkpoint.signal, 10);
  const JobSpec ckpt = MustParse(Spec("  checkpoint: {enabled: true, intervalSeconds: 600}\n"));
  EXPECT_TRUE(ckpt.checkpoint.enabled);
  EXPECT_EQ(ckpt.checkpoint.interval_s, 600);
  EXPECT_FALSE(MustParse(Spec("  topology: {level: spine}\n")).topology.required);
  EXPECT_EQ(MustParse(Spec("  tolerations: [{operator: Exists}]\n")).tolerations[0].op, "Exists");
}

struct ErrorCase {
  const char* what;
  std::string yaml;
  std::string expected;  // substring of the message: "line N: path: ..."
};

class JobSpecErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(JobSpecErrors, NamesPathAndLine) {
  const ErrorCase& c = GetParam();
  Result<JobSpec> r = ParseJobSpec(c.yaml);
  ASSERT_FALSE(r.has_value()) << c.what << "\n" << c.yaml;
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.error().message(), HasSubstr(c.expected)) << c.what;
  EXPECT_THAT(r.error().message(), StartsWith("line ")) << c.what;
}

const ErrorCase kErrorCases[] = {
    // Document level.
    {"empty input", "", "line 1: the document is empty"},
    {"only comments", "# nothing\n", "line 1: the document is empty"},
    {"not a mapping", "- a\n- b\n", "line 1: the document must be a mapping (got a list)"},
    {"scalar document", "hello\n", "line 1: the document must be a mapping (got \"hello\")"},
    {"two documents", Spec("") + "---\n" + Spec(""), "line 9: expected one YAML document, found 2"},
    {"syntax error", "apiVersion: kumo/v1\nkind: [Job\n", "line 3: invalid YAML"},
    // yaml-cpp 0.7 would produce empty documents for ever here (found by fuzz/job_spec_fuzz.cc).
    {"stray closing brace", "{\"apiVersion\": \"kumo/v1\",\n \"spec\": {\"retry\": {\"a\": 0},\n\"b\": 0},\n"
     "\"c\": 0},\n \"kind\": \"Job\"}\n",
     "line 4: malformed document: parsing does not advance past here"},
    {"bad indentation", "a: 1\n b: 2\n", "line 2: invalid YAML: illegal map value"},
    {"too large", Spec("") + "#" + std::string(kMaxJobSpecBytes, 'x') + "\n",
     "line 1: the document is 1048676 bytes, above the limit of 1 MiB"},
    {"non-string key", "? [a]\n: b\n", "line 1: keys must be strings"},
    // Header fields.
    {"wrong apiVersion", "apiVersion: kumo/v2\nkind: Job\n", "line 1: apiVersion: must be one of"},
    {"wrong kind", "apiVersion: kumo/v1\nkind: Pod\n", "line 2: kind: must be one of \"Job\""},
    {"missing spec", "apiVersion: kumo/v1\nkind: Job\n", "line 1: spec: required field is missing"},
    {"null spec", "apiVersion: kumo/v1\nkind: Job\nspec:\n", "line 1: spec: required field"},
    {"missing apiVersion", "kind: Job\n", "line 1: apiVersion: required field is missing"},
    {"bad metadata name", "metadata: {name: Ddp}\n", "line 1: metadata.name: must be a DNS label"},
    {"bad label key", "metadata:\n  labels: {\"-x\": a}\n",
     "line 2: metadata.labels.-x: invalid key"},
    {"bad label value", "metadata:\n  labels: {a: \"b c\"}\n",
     "line 2: metadata.labels.a: must be"},
    {"labels a list", "metadata:\n  labels: [a]\n",
     "line 2: metadata.labels: must be a mapping (got a list)"},
    // Unknown and duplicate fields.
    {"unknown top-level", "apiVersion: kumo/v1\nextra: 1\n", "line 2: extra: unknown field"},
    {"unknown spec field", Spec("  colour: red\n"), "line 5: spec.colour: unknown field"},
    {"unknown nested field", Group("    - name: x\n      command: [a]\n      resoures: {cpu: 1}\n"),
     "line 10: spec.taskGroups[1].resoures: unknown field"},
    {"unknown resource", Group("      resources: {cpus: 1}\n"),
     "line 8: spec.taskGroups[0].resources.cpus: unknown field"},
    {"duplicate key", Spec("  project: q\n"), "line 5: spec.project: duplicate key"},
    // Required fields.
    {"missing project",
     "apiVersion: kumo/v1\nkind: Job\nspec:\n  taskGroups: [{name: w, command: [a]}]\n",
     "line 4: spec.project: required field is missing"},
    {"missing taskGroups", kHead, "line 4: spec.taskGroups: required field is missing"},
    {"empty taskGroups", std::string(kHead) + "  taskGroups: []\n",
     "line 5: spec.taskGroups: must list at least one group"},
    {"missing group name", Group("    - command: [a]\n"),
     "line 8: spec.taskGroups[1].name: required field is missing"},
    {"missing command", Group("    - name: x\n"),
     "line 8: spec.taskGroups[1].command: required field is missing"},
    {"empty command", Group("    - name: x\n      command: []\n"),
     "line 9: spec.taskGroups[1].command: must not be empty"},
    {"empty program", Group("    - name: x\n      command: [\"\", a]\n"),
     "line 9: spec.taskGroups[1].command[0]: the program must not be empty"},
    // Wrong types.
    {"taskGroups a mapping", std::string(kHead) + "  taskGroups: {name: w}\n",
     "line 5: spec.taskGroups: must be a list (got a mapping)"},
    {"command a string", std::string(kHead) + "  taskGroups:\n    - name: w\n      command: run\n",
     "line 7: spec.taskGroups[0].command: must be a list (got \"run\")"},
    {"command item a list", std::string(kHead) + "  taskGroups:\n    - {name: w, command: [[a]]}\n",
     "line 6: spec.taskGroups[0].command[0]: must be a string (got a list)"},
    {"group a string", std::string(kHead) + "  taskGroups: [w]\n",
     "line 5: spec.taskGroups[0]: must be a mapping (got \"w\")"},
    {"replicas a word", Group("      replicas: two\n"),
     "line 8: spec.taskGroups[0].replicas: must be an integer (got \"two\")"},
    {"replicas fractional", Group("      replicas: 1.5\n"),
     "line 8: spec.taskGroups[0].replicas: must be an integer (got \"1.5\")"},
    {"replicas quoted", Group("      replicas: \"2\"\n"),
     "line 8: spec.taskGroups[0].replicas: must be an integer, not the string \"2\""},
    {"project a mapping", "spec:\n  project: {a: 1}\n",
     "line 2: spec.project: must be a string (got a mapping)"},
    {"cpu a list", Group("      resources: {cpu: [1]}\n"),
     "line 8: spec.taskGroups[0].resources.cpu: must be a positive CPU quantity"},
    // Values.
    {"bad group name", Group("    - name: Worker_1\n      command: [a]\n"),
     "line 8: spec.taskGroups[1].name: must be a DNS label"},
    {"long group name", Group("    - name: " + std::string(64, 'a') + "\n      command: [a]\n"),
     "line 8: spec.taskGroups[1].name: must be a DNS label"},
    {"duplicate group name", Group("    - name: w\n      command: [a]\n"),
     "line 8: spec.taskGroups[1].name: duplicate task group name \"w\" (also spec.taskGroups[0])"},
    {"replicas zero", Group("      replicas: 0\n"),
     "line 8: spec.taskGroups[0].replicas: must be between 1 and 4096 (got 0)"},
    {"replicas too many", Group("      replicas: 4097\n"),
     "line 8: spec.taskGroups[0].replicas: must be between 1 and 4096"},
    {"replicas overflow", Group("      replicas: 99999999999999999999\n"),
     "line 8: spec.taskGroups[0].replicas: must be between 1 and 4096"},
    {"minAvailable zero", Spec("  gang: {minAvailable: 0}\n"),
     "line 5: spec.gang.minAvailable: must be between 1"},
    {"minAvailable above total", Spec("  gang:\n    minAvailable: 2\n"),
     "line 6: spec.gang.minAvailable: must be at most the job's 1 tasks (got 2)"},
    {"reserved env", Group("      env: {RANK: \"0\"}\n"),
     "line 8: spec.taskGroups[0].env.RANK: \"RANK\" is reserved"},
    {"reserved KUMO_ env", Group("      env:\n        KUMO_OUTPUT_DIR: /x\n"),
     "line 9: spec.taskGroups[0].env.KUMO_OUTPUT_DIR: \"KUMO_OUTPUT_DIR\" is reserved"},
    {"reserved CUDA env", Group("      env: {CUDA_VISIBLE_DEVICES: \"0\"}\n"),
     "line 8: spec.taskGroups[0].env.CUDA_VISIBLE_DEVICES: \"CUDA_VISIBLE_DEVICES\" is reserved"},
    {"invalid env name", Group("      env: {1X: a}\n"),
     "line 8: spec.taskGroups[0].env.1X: invalid variable name"},
    {"env value a list", Group("      env: {X: [a]}\n"),
     "line 8: spec.taskGroups[0].env.X: must be a string (got a list)"},
    {"gpu one and a half", Group("      resources:\n        gpu: 1.5\n"),
     "line 9: spec.taskGroups[0].resources.gpu: must be a whole number of GPUs or a share below 1 "
     "(got \"1.5\")"},
    {"gpu negative", Group("      resources: {gpu: -1}\n"),
     "line 8: spec.taskGroups[0].resources.gpu: must be a whole number"},
    {"gpuModels without gpu", Group("      resources: {gpuModels: [A100]}\n"),
     "line 8: spec.taskGroups[0].resources.gpuModels: needs resources.gpu"},
    {"cpu zero", Group("      resources: {cpu: 0}\n"),
     "line 8: spec.taskGroups[0].resources.cpu: must be a positive CPU quantity"},
    {"cpu too precise", Group("      resources: {cpu: 0.0001}\n"),
     "line 8: spec.taskGroups[0].resources.cpu: must be a positive CPU quantity"},
    {"memory zero", Group("      resources: {memory: 0Gi}\n"),
     "line 8: spec.taskGroups[0].resources.memory: must be a positive memory quantity"},
    {"memory unknown suffix", Group("      resources: {memory: 2GB}\n"),
     "line 8: spec.taskGroups[0].resources.memory: must be a positive memory quantity"},
    {"extended fractional", Group("      resources: {extended: {rdma: 0.5}}\n"),
     "line 8: spec.taskGroups[0].resources.extended.rdma: must be an integer (got \"0.5\")"},
    {"maxRuntime zero", Spec("  maxRuntime: 0s\n"),
     "line 5: spec.maxRuntime: must be a positive duration"},
    {"maxRuntime millis", Spec("  maxRuntime: 500ms\n"),
     "line 5: spec.maxRuntime: must be a positive duration like"},
    {"backoffLimit too high", Spec("  retry: {backoffLimit: 101}\n"),
     "line 5: spec.retry.backoffLimit: must be between 0 and 100"},
    {"maxBackoff below backoff", Spec("  retry:\n    backoff: 1m\n    maxBackoff: 30s\n"),
     "line 7: spec.retry.maxBackoff: must be at least retry.backoff (60s)"},
    {"unknown signal", Spec("  checkpoint: {signal: SIGFOO}\n"),
     "line 5: spec.checkpoint.signal: must be a signal like"},
    {"uncatchable signal", Spec("  checkpoint: {signal: KILL}\n"),
     "line 5: spec.checkpoint.signal: cannot be caught"},
    {"checkpoint enabled not a bool", Spec("  checkpoint: {enabled: yes please}\n"),
     "line 5: spec.checkpoint.enabled: must be true or false (got \"yes please\")"},
    {"checkpoint interval zero", Spec("  checkpoint: {enabled: true, intervalSeconds: 0}\n"),
     "line 5: spec.checkpoint.intervalSeconds: must be between 1 and"},
    {"grace period too long", Spec("  checkpoint: {gracePeriod: 2h}\n"),
     "line 5: spec.checkpoint.gracePeriod: must be a duration of at most 1h"},
    {"bad operator", Spec("  tolerations:\n    - {key: a, operator: In}\n"),
     "line 6: spec.tolerations[0].operator: must be one of \"Equal\", \"Exists\" (got \"In\")"},
    {"bad effect", Spec("  tolerations: [{key: a, effect: NoRun}]\n"),
     "line 5: spec.tolerations[0].effect: must be one of"},
    {"Exists with value",
     Spec("  tolerations:\n    - key: a\n      operator: Exists\n      value: b\n"),
     "line 8: spec.tolerations[0].value: must be empty when operator is Exists"},
    {"Equal without key", Spec("  tolerations: [{value: b}]\n"),
     "line 5: spec.tolerations[0].key: required when operator is Equal"},
    {"bad topology mode", Spec("  topology: {level: leaf, mode: strict}\n"),
     "line 5: spec.topology.mode: must be one of \"required\", \"preferred\""},
    {"topology without level", Spec("  topology: {mode: required}\n"),
     "line 5: spec.topology.level: required field is missing"},
    {"empty topology level", Spec("  topology: {level: \"\"}\n"),
     "line 5: spec.topology.level: must not be empty"},
    {"dataset name with a version", Spec("  datasets: [{name: mnist@1, mountPath: /d}]\n"),
     "line 5: spec.datasets[0].name: must be a DNS label"},
    {"dataset version 0", Spec("  datasets: [{name: mnist, version: 0, mountPath: /d}]\n"),
     "line 5: spec.datasets[0].version: must be between 1 and"},
    {"dataset without mountPath", Spec("  datasets:\n    - name: mnist\n"),
     "line 6: spec.datasets[0].mountPath: required field is missing"},
    {"relative mountPath", Spec("  datasets: [{name: mnist, mountPath: data}]\n"),
     "line 5: spec.datasets[0].mountPath: must be an absolute path"},
    {"mountPath with ..", Spec("  datasets: [{name: mnist, mountPath: /data/../etc}]\n"),
     "line 5: spec.datasets[0].mountPath: must be an absolute path"},
    {"dataset twice", Spec("  datasets: [{name: a, mountPath: /a}, {name: a, mountPath: /b}]\n"),
     "line 5: spec.datasets[1].name: duplicate dataset \"a\" (also spec.datasets[0])"},
    {"mountPath twice", Spec("  datasets: [{name: a, mountPath: /a}, {name: b, mountPath: /a}]\n"),
     "line 5: spec.datasets[1].mountPath: duplicate mountPath \"/a\" (also spec.datasets[0])"},
    {"absolute output", Spec("  outputs: [/etc/passwd]\n"),
     "line 5: spec.outputs[0]: must be relative to KUMO_OUTPUT_DIR"},
    {"output escapes", Spec("  outputs:\n    - ok.txt\n    - a/../../b\n"),
     "line 7: spec.outputs[1]: must not leave KUMO_OUTPUT_DIR"},
    {"negative seed", Spec("  seed: -1\n"),
     "line 5: spec.seed: must be a non-negative integer (got \"-1\")"},
    {"seed above 64 bits", Spec("  seed: 18446744073709551616\n"),
     "line 5: spec.seed: must be between 0 and 18446744073709551615"},
    {"bad nodeSelector", Spec("  nodeSelector: {zone: [a]}\n"),
     "line 5: spec.nodeSelector.zone: must be a string (got a list)"},
};

INSTANTIATE_TEST_SUITE_P(JobSpec, JobSpecErrors, ::testing::ValuesIn(kErrorCases),
                         [](const ::testing::TestParamInfo<ErrorCase>& info) {
                           std::string name;
                           for (char c : std::string(info.param.what)) {
                             name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           }
                           return name;
                         });

TEST(JobSpecParse, AliasExpansionIsBounded) {
  // One 60k-item list referenced by twenty groups: small text, cheap for yaml-cpp (aliases share
  // nodes), but 1.2M strings to copy. The walker's budget (1Mi nodes) stops it.
  std::string wide = "[a";
  for (int i = 1; i < 60000; ++i) wide += ", a";
  wide += "]";
  std::string yaml = std::string(kHead) + "  outputs: &c " + wide + "\n  taskGroups:\n";
  for (int i = 0; i < 20; ++i) yaml += "    - {name: g" + std::to_string(i) + ", command: *c}\n";
  ASSERT_LE(yaml.size(), kMaxJobSpecBytes);
  Result<JobSpec> r = ParseJobSpec(yaml);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("too large once its aliases are expanded"));
}

// The spec's quantities are base/quantity.h's grammar (its cases are in quantity_test.cc); here,
// that the spec's parsers give its values and nullopt for its errors.
TEST(JobSpecQuantity, CpuMemoryAndDurationAreTheBaseGrammar) {
  EXPECT_EQ(ParseCpuMillis("0.5"), 500);
  EXPECT_EQ(ParseCpuMillis("500m"), 500);
  EXPECT_EQ(ParseCpuMillis("0.0005"), std::nullopt);
  EXPECT_EQ(ParseMemoryBytes("1.5Gi"), int64_t{3} << 29);
  EXPECT_EQ(ParseMemoryBytes("1G"), 1000000000);
  EXPECT_EQ(ParseMemoryBytes("1K"), std::nullopt);
  EXPECT_EQ(ParseDurationSeconds("1h30m"), 5400);
  EXPECT_EQ(ParseDurationSeconds("1m1h"), std::nullopt);
}

TEST(JobSpecQuantity, Gpu) {
  EXPECT_EQ(ParseGpuMilli("2"), 2000);
  EXPECT_EQ(ParseGpuMilli("0.5"), 500);
  EXPECT_EQ(ParseGpuMilli("500m"), 500);
  EXPECT_EQ(ParseGpuMilli("1000m"), 1000);
  EXPECT_EQ(ParseGpuMilli("0.001"), 1);
  EXPECT_EQ(ParseGpuMilli("0"), 0);
  for (const char* bad : {"1.5", "1500m", "2.001", "-1", "0.0001", "", "one"}) {
    EXPECT_EQ(ParseGpuMilli(bad), std::nullopt) << bad;
  }
}

TEST(JobSpecQuantity, Signal) {
  EXPECT_EQ(ParseSignal("SIGTERM"), SIGTERM);
  EXPECT_EQ(ParseSignal("TERM"), SIGTERM);
  EXPECT_EQ(ParseSignal("15"), 15);
  EXPECT_EQ(ParseSignal("SIGUSR1"), SIGUSR1);
  EXPECT_EQ(ParseSignal("INT"), SIGINT);
  EXPECT_EQ(ParseSignal("64"), 64);
  for (const char* bad : {"", "SIG", "sigterm", "SIGFOO", "0", "65", "-15", "SIGSIGTERM"}) {
    EXPECT_EQ(ParseSignal(bad), std::nullopt) << bad;
  }
}

TEST(JobSpecJson, CanonicalForm) {
  nlohmann::json j = JobSpecToJson(MustParse(kFullExample));
  EXPECT_EQ(j["apiVersion"], "kumo/v1");
  EXPECT_EQ(j["kind"], "Job");
  EXPECT_EQ(j["metadata"]["name"], "ddp-train");
  EXPECT_EQ(j["metadata"]["annotations"], nlohmann::json::object());
  EXPECT_EQ(j["metadata"]["labels"]["team"], "vision");
  const nlohmann::json& s = j["spec"];
  EXPECT_EQ(s["project"], "vision");
  EXPECT_EQ(s["seed"], 42);
  EXPECT_EQ(s["gang"]["minAvailable"], 2);
  EXPECT_EQ(s["topology"], (nlohmann::json{{"level", "leaf"}, {"mode", "required"}}));
  EXPECT_EQ(s["maxRuntimeSeconds"], 7200);
  EXPECT_EQ(
      s["retry"],
      (nlohmann::json{{"backoffLimit", 2}, {"backoffSeconds", 10}, {"maxBackoffSeconds", 300}}));
  EXPECT_EQ(s["checkpoint"], (nlohmann::json{
                                 {"enabled", false}, {"signal", SIGTERM}, {"gracePeriodSeconds", 30}}));
  EXPECT_EQ(s["tolerations"][0]["operator"], "Equal");
  EXPECT_EQ(s["datasets"][0],
            (nlohmann::json{{"name", "mnist"}, {"version", 3}, {"mountPath", "/data/mnist"}}));
  EXPECT_EQ(s["outputs"], nlohmann::json::array({"model.pt"}));
  const nlohmann::json& g = s["taskGroups"][0];
  EXPECT_EQ(g["name"], "worker");
  EXPECT_EQ(g["replicas"], 2);
  EXPECT_EQ(g["command"], nlohmann::json::array({"/usr/bin/python3", "train.py"}));
  EXPECT_EQ(g["workingDir"], "/home/me/proj");
  EXPECT_EQ(g["image"], "pytorch/pytorch:2.3.0");
  EXPECT_EQ(g["env"]["FOO"], "bar");
  EXPECT_EQ(g["resources"], (nlohmann::json{{"cpuMillis", 1000},
                                            {"memoryBytes", int64_t{2} << 30},
                                            {"gpuMilli", 4000},
                                            {"gpuModels", {"A100"}},
                                            {"extended", {{"rdma", 1}}}}));

  // Unset optionals are omitted; everything else is there with its default.
  nlohmann::json minimal = JobSpecToJson(MustParse(Spec("")));
  EXPECT_FALSE(minimal["metadata"].contains("name"));
  EXPECT_FALSE(minimal["spec"].contains("seed"));
  EXPECT_FALSE(minimal["spec"].contains("gang"));
  EXPECT_FALSE(minimal["spec"].contains("maxRuntimeSeconds"));
  EXPECT_EQ(minimal["spec"]["priorityClass"], "normal");
  EXPECT_TRUE(minimal["spec"]["tolerations"].is_array());
  EXPECT_EQ(minimal["spec"]["taskGroups"][0]["resources"]["memoryBytes"], int64_t{1} << 30);
}

TEST(JobSpecFuzz, TruncatedAndMutatedDocumentsNeverCrash) {
  // Deterministic: every prefix at a stride, then single- and multi-byte mutations chosen by a
  // fixed LCG. Each must give a spec or an InvalidArgument starting with "line ".
  const std::string base = kFullExample;
  std::vector<std::string> variants;
  for (size_t len = 0; len < base.size(); len += 5) variants.push_back(base.substr(0, len));
  const std::string alphabet = ":-[]{}\"'#&*!|>\n ,@%?\t0a\\";
  uint64_t state = 20261122;
  auto next = [&state](uint64_t bound) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<size_t>((state >> 33) % bound);
  };
  for (int i = 0; i < 300; ++i) {
    std::string v = base;
    for (int edits = 1 + static_cast<int>(next(3)); edits > 0; --edits) {
      size_t pos = next(v.size());
      switch (next(3)) {
        case 0:
          v[pos] = alphabet[next(alphabet.size())];
          break;
        case 1:
          v.erase(pos, 1 + next(8));
          break;
        default:
          v.insert(pos, 1, alphabet[next(alphabet.size())]);
      }
    }
    variants.push_back(std::move(v));
  }
  int parsed = 0;
  for (const std::string& v : variants) {
    Result<JobSpec> r = ParseJobSpec(v);
    if (r.has_value()) {
      ++parsed;
      EXPECT_FALSE(r->task_groups.empty());
      continue;
    }
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument) << r.error().message();
    EXPECT_THAT(r.error().message(), StartsWith("line ")) << v;
  }
  EXPECT_GT(parsed, 0);                                  // some mutations are harmless...
  EXPECT_LT(parsed, static_cast<int>(variants.size()));  // ...and most are not
}

}  // namespace
}  // namespace kumo::api
