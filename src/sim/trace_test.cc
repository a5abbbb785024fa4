// Trace readers (Philly, openb) on small files written into a temporary directory, the offered
// load arithmetic, cluster shrinking and the seeded synthetic generator.
#include "sim/trace.h"
#include "test/support/temp_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace kumo::sim {
namespace {

using ::kumo::testing::TempDir;

using core::kNever;
using core::Seconds;

constexpr int64_t kGiB = 1LL << 30;
constexpr int64_t kMiB = 1LL << 20;

const SimJob* FindJob(const Trace& t, const std::string& id) {
  for (const SimJob& j : t.jobs)
    if (j.id == id) return &j;
  return nullptr;
}

std::vector<std::string> JobIds(const Trace& t) {
  std::vector<std::string> ids;
  for (const SimJob& j : t.jobs) ids.push_back(j.id);
  return ids;
}

std::vector<std::string> NodeNames(const Trace& t) {
  std::vector<std::string> names;
  for (const core::Node& n : t.nodes) names.push_back(n.name);
  return names;
}

// "file:line" of every invalid row of `file`, in order.
std::vector<int> InvalidLines(const Trace& t, const std::string& file) {
  std::vector<int> lines;
  for (const InvalidRow& r : t.invalid)
    if (r.file == file) lines.push_back(r.line);
  return lines;
}

int64_t InvalidCount(const Trace& t, const std::string& file) {
  return static_cast<int64_t>(InvalidLines(t, file).size());
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Each invalid row of `file` at a line in `expected` has a reason containing the given text.
void ExpectReasons(const Trace& t, const std::string& file,
                   const std::map<int, std::string>& expected) {
  for (const InvalidRow& r : t.invalid) {
    if (r.file != file) continue;
    auto it = expected.find(r.line);
    if (it == expected.end()) {
      ADD_FAILURE() << "unexpected invalid row " << file << ":" << r.line << ": " << r.reason;
      continue;
    }
    EXPECT_TRUE(Contains(r.reason, it->second)) << file << ":" << r.line << ": " << r.reason;
  }
}

// Exact estimates (maxRuntime == duration): factor drawn from [1, 1], no rounding.
EstimateModel Exact() { return EstimateModel{1.0, 1, 7}; }

// =============================================================================================
// Philly

const char kPhillyMachines[] =
    "machineId, number of GPUs, single GPU mem\n"  // 1
    "m0,8, 24GB\n"                                 // 2
    "m1,2, 12GB\n"                                 // 3: a 2-GPU machine (skipped, not invalid)
    "m2,8, 24GB\n"                                 // 4
    "m3,x, 24GB\n"                                 // 5: bad GPU count
    "m4,8\n"                                       // 6: two fields of three
    "m5,8, 24GB\n";                                // 7

const char kPhillyVcs[] =
    "vc,node num\n"  // 1
    "a,64\n"         // 2
    "b,32\n"         // 3
    "c,0\n"          // 4: weight must be > 0
    "d,x\n";         // 5: not a number

const char kPhillyJobs[] =
    "job_id,submitted_time,submit_offset_s,num_gpus,runtime_s\n"  // 1
    "j12,2017-09-04 10:30:41,100,12,3600.4\n"                     // 2: 8 + 4 GPUs
    "j4,x,0,4,600\n"                                              // 3
    "j16,x,50,16,1000\n"                                          // 4: 2 x 8 GPUs
    "\n"                                                          // 5: blank (not a row)
    "short,x,7,2\n"                                               // 6: 4 fields of 5
    "neg,x,-5,4,100\n"                                            // 7: negative offset
    "four,x,5,four,100\n"                                         // 8: non-numeric GPUs
    "zero,x,5,0,100\n"                                            // 9: zero GPUs
    "rt0,x,5,4,0\n"                                               // 10: zero runtime
    "rtx,x,5,4,abc\n"                                             // 11: non-numeric runtime
    "frac,x,5.5,4,100\n"                                          // 12: non-integer offset
    "tiny,x,5,8,0.2\n";                                           // 13: runtime rounds to 0 -> 1 s

struct PhillyFiles {
  TempDir dir;
  PhillyOptions opt;
  PhillyFiles(const std::string& jobs = kPhillyJobs, const std::string& machines = kPhillyMachines,
              const std::string& vcs = kPhillyVcs) {
    opt.jobs_csv = dir.Write("jobs.csv", jobs);
    opt.machines_csv = dir.Write("machines.csv", machines);
    opt.vc_csv = dir.Write("vcs.csv", vcs);
    opt.estimates = Exact();
    opt.topology = TopologyOptions{2, 1};  // two nodes per leaf, one leaf per spine
  }
};

TEST(TracePhilly, ValidRowsBecomeJobs) {
  PhillyFiles f;
  auto t = ReadPhilly(f.opt);
  ASSERT_TRUE(t.has_value()) << t.error().message();
  EXPECT_EQ(t->name, "philly");
  // Sorted by submit time: j4 (0), tiny (5), j16 (50), j12 (100).
  EXPECT_EQ(JobIds(*t), (std::vector<std::string>{"j4", "tiny", "j16", "j12"}));

  // 12 GPUs -> a gang of one 8-GPU task plus a 4-GPU remainder task; 4 cores and 24 GiB per GPU.
  const SimJob* j12 = FindJob(*t, "j12");
  ASSERT_NE(j12, nullptr);
  EXPECT_EQ(j12->submit, 100);
  EXPECT_EQ(j12->duration, 3600);     // 3600.4 rounded
  EXPECT_EQ(j12->max_runtime, 3600);  // exact estimates
  ASSERT_EQ(j12->groups.size(), 2u);
  EXPECT_EQ(j12->groups[0].name, "worker");
  EXPECT_EQ(j12->groups[0].replicas, 1);
  EXPECT_EQ(j12->groups[0].resources, core::ResourceVector::Of(32000, 8 * 24 * kGiB, 8000));
  EXPECT_EQ(j12->groups[1].name, "rest");
  EXPECT_EQ(j12->groups[1].replicas, 1);
  EXPECT_EQ(j12->groups[1].resources, core::ResourceVector::Of(16000, 4 * 24 * kGiB, 4000));
  EXPECT_EQ(j12->GpuMilli(), 12000);

  // 4 GPUs: one task, named "worker" (no full 8-GPU task).
  const SimJob* j4 = FindJob(*t, "j4");
  ASSERT_NE(j4, nullptr);
  EXPECT_EQ(j4->submit, 0);
  EXPECT_EQ(j4->duration, 600);
  ASSERT_EQ(j4->groups.size(), 1u);
  EXPECT_EQ(j4->groups[0].name, "worker");
  EXPECT_EQ(j4->groups[0].replicas, 1);
  EXPECT_EQ(j4->groups[0].resources.gpu_milli(), 4000);

  // 16 GPUs: two 8-GPU tasks, no remainder.
  const SimJob* j16 = FindJob(*t, "j16");
  ASSERT_NE(j16, nullptr);
  ASSERT_EQ(j16->groups.size(), 1u);
  EXPECT_EQ(j16->groups[0].replicas, 2);
  EXPECT_EQ(j16->groups[0].resources.gpu_milli(), 8000);
  EXPECT_EQ(j16->GpuMilli(), 16000);

  // 0.2 s rounds to 0 and is raised to the 1-second minimum.
  const SimJob* tiny = FindJob(*t, "tiny");
  ASSERT_NE(tiny, nullptr);
  EXPECT_EQ(tiny->duration, 1);
  EXPECT_EQ(tiny->GpuMilli(), 8000);

  // Queues and users by the seeded rule; everything checkpointable by default.
  for (const SimJob& j : t->jobs) {
    EXPECT_TRUE(j.project == "vc-a" || j.project == "vc-b") << j.project;
    EXPECT_TRUE(Contains("user-0 user-1 user-2 user-3 user-4 user-5 user-6 user-7", j.user))
        << j.user;
    EXPECT_TRUE(j.checkpointable);
    EXPECT_EQ(j.priority, 0);
  }
}

TEST(TracePhilly, InvalidRowsAreCountedWithLineNumbers) {
  PhillyFiles f;
  auto t = ReadPhilly(f.opt);
  ASSERT_TRUE(t.has_value()) << t.error().message();
  // Job rows: lines 2-4 and 6-13 (line 5 is blank) = 11 rows; 4 valid, 7 invalid (lines 6-12).
  EXPECT_EQ(t->rows_read, 11);
  EXPECT_EQ(InvalidLines(*t, f.opt.jobs_csv), (std::vector<int>{6, 7, 8, 9, 10, 11, 12}));
  EXPECT_EQ(t->rows_read, static_cast<int64_t>(t->jobs.size()) + InvalidCount(*t, f.opt.jobs_csv));
  // Machine and VC rows are reported too.
  EXPECT_EQ(InvalidLines(*t, f.opt.machines_csv), (std::vector<int>{5, 6}));
  EXPECT_EQ(InvalidLines(*t, f.opt.vc_csv), (std::vector<int>{4, 5}));
  EXPECT_EQ(t->invalid.size(), 11u);
  // Reasons name the problem.
  ExpectReasons(*t, f.opt.jobs_csv,
                {{6, "expected 5 fields, got 4"},
                 {7, "submit_offset_s"},
                 {8, "num_gpus"},
                 {9, "num_gpus"},
                 {10, "runtime_s"},
                 {11, "runtime_s"},
                 {12, "submit_offset_s"}});
}

TEST(TracePhilly, MachinesQueuesAndTopology) {
  PhillyFiles f;
  auto t = ReadPhilly(f.opt);
  ASSERT_TRUE(t.has_value()) << t.error().message();
  // Only the 8-GPU machines (m1 has 2 GPUs; m3, m4 are invalid).
  EXPECT_EQ(NodeNames(*t), (std::vector<std::string>{"m0", "m2", "m5"}));
  EXPECT_EQ(t->GpuCapacityMilli(), 24000);
  const core::Node& m0 = t->nodes[0];
  ASSERT_EQ(m0.gpus.size(), 8u);
  for (int g = 0; g < 8; ++g) {
    EXPECT_EQ(m0.gpus[g].index, g);
    EXPECT_EQ(m0.gpus[g].model, "P100");
    EXPECT_EQ(m0.gpus[g].nvlink_group, g / 4);
  }
  // 6 cores and 48 GiB per GPU.
  EXPECT_EQ(m0.allocatable, core::ResourceVector::Of(48000, 8 * 48 * kGiB, 0));
  // Two nodes per leaf, one leaf per spine, in list order.
  EXPECT_EQ(t->topology_levels, (std::vector<std::string>{"spine", "leaf"}));
  EXPECT_EQ(t->nodes[0].topology, (std::vector<std::string>{"spine-000", "leaf-0000"}));
  EXPECT_EQ(t->nodes[1].topology, (std::vector<std::string>{"spine-000", "leaf-0000"}));
  EXPECT_EQ(t->nodes[2].topology, (std::vector<std::string>{"spine-001", "leaf-0001"}));
  // Queues: the valid VCs, node counts as weights.
  ASSERT_EQ(t->projects.size(), 2u);
  EXPECT_EQ(t->projects[0].name, "vc-a");
  EXPECT_EQ(t->projects[0].weight, 64.0);
  EXPECT_EQ(t->projects[1].name, "vc-b");
  EXPECT_EQ(t->projects[1].weight, 32.0);

  // All machines when asked; no VC file -> one queue.
  f.opt.eight_gpu_machines_only = false;
  f.opt.vc_csv = "";
  auto all = ReadPhilly(f.opt);
  ASSERT_TRUE(all.has_value()) << all.error().message();
  EXPECT_EQ(NodeNames(*all), (std::vector<std::string>{"m0", "m1", "m2", "m5"}));
  EXPECT_EQ(all->nodes[1].gpus.size(), 2u);
  EXPECT_EQ(all->GpuCapacityMilli(), 26000);
  ASSERT_EQ(all->projects.size(), 1u);
  EXPECT_EQ(all->projects[0].name, "vc-all");
  for (const SimJob& j : all->jobs) EXPECT_EQ(j.project, "vc-all");
}

TEST(TracePhilly, SeededAssignmentIsDeterministic) {
  PhillyFiles f;
  auto a = ReadPhilly(f.opt);
  auto b = ReadPhilly(f.opt);
  ASSERT_TRUE(a.has_value() && b.has_value());
  ASSERT_EQ(a->jobs.size(), b->jobs.size());
  for (size_t i = 0; i < a->jobs.size(); ++i) {
    EXPECT_EQ(a->jobs[i].id, b->jobs[i].id);
    EXPECT_EQ(a->jobs[i].project, b->jobs[i].project);
    EXPECT_EQ(a->jobs[i].user, b->jobs[i].user);
    EXPECT_EQ(a->jobs[i].max_runtime, b->jobs[i].max_runtime);
  }
}

TEST(TracePhilly, EstimateModelAndCheckpointFraction) {
  PhillyFiles f;
  // Default model: duration x U[1, 3], rounded up to whole hours.
  f.opt.estimates = EstimateModel{};
  f.opt.checkpointable_fraction = 0.0;
  auto t = ReadPhilly(f.opt);
  ASSERT_TRUE(t.has_value()) << t.error().message();
  for (const SimJob& j : t->jobs) {
    EXPECT_EQ(j.max_runtime % 3600, 0) << j.id;
    EXPECT_GE(j.max_runtime, j.duration) << j.id;
    // At most 3 x duration, rounded up to an hour.
    EXPECT_LE(j.max_runtime, (3 * j.duration + 3599) / 3600 * 3600) << j.id;
    EXPECT_FALSE(j.checkpointable) << j.id;
  }
  // j12: 3600 s -> between 3600 and 10800.
  EXPECT_GE(FindJob(*t, "j12")->max_runtime, 3600);
  // No estimates at all.
  f.opt.estimates.max_overestimate = 0;
  auto none = ReadPhilly(f.opt);
  ASSERT_TRUE(none.has_value());
  for (const SimJob& j : none->jobs) EXPECT_EQ(j.max_runtime, kNever) << j.id;
}

TEST(TracePhilly, MissingColumnsNameTheFileAndColumns) {
  {
    // No runtime_s column.
    PhillyFiles f("job_id,submit_offset_s,num_gpus\nj,0,8\n");
    auto t = ReadPhilly(f.opt);
    ASSERT_FALSE(t.has_value());
    EXPECT_EQ(t.error().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(t.error().message(), f.opt.jobs_csv)) << t.error().message();
    EXPECT_TRUE(Contains(t.error().message(), "runtime_s")) << t.error().message();
  }
  {
    // Machine list without "number of GPUs".
    PhillyFiles f(kPhillyJobs, "machineId,gpus\nm0,8\n");
    auto t = ReadPhilly(f.opt);
    ASSERT_FALSE(t.has_value());
    EXPECT_TRUE(Contains(t.error().message(), f.opt.machines_csv)) << t.error().message();
    EXPECT_TRUE(Contains(t.error().message(), "number of GPUs")) << t.error().message();
  }
  {
    // VC list without "node num".
    PhillyFiles f(kPhillyJobs, kPhillyMachines, "vc,nodes\na,1\n");
    auto t = ReadPhilly(f.opt);
    ASSERT_FALSE(t.has_value());
    EXPECT_TRUE(Contains(t.error().message(), f.opt.vc_csv)) << t.error().message();
    EXPECT_TRUE(Contains(t.error().message(), "node num")) << t.error().message();
  }
}

TEST(TracePhilly, MissingOrBrokenFilesAreErrors) {
  for (int which = 0; which < 3; ++which) {
    PhillyFiles f;
    std::string* path = which == 0   ? &f.opt.jobs_csv
                        : which == 1 ? &f.opt.machines_csv
                                     : &f.opt.vc_csv;
    *path = f.dir.Path("absent.csv");
    auto t = ReadPhilly(f.opt);
    ASSERT_FALSE(t.has_value()) << which;
    EXPECT_EQ(t.error().code(), StatusCode::kNotFound) << which;
    EXPECT_TRUE(Contains(t.error().message(), "absent.csv")) << t.error().message();
  }
  // An unterminated quote fails the whole file, naming file and line.
  PhillyFiles f("job_id,submit_offset_s,num_gpus,runtime_s\nj,0,8,100\n\"k,0,8,100\n");
  auto t = ReadPhilly(f.opt);
  ASSERT_FALSE(t.has_value());
  EXPECT_TRUE(Contains(t.error().message(), f.opt.jobs_csv)) << t.error().message();
  EXPECT_TRUE(Contains(t.error().message(), "line 3")) << t.error().message();
}

TEST(TracePhilly, HeaderOnlyJobFile) {
  PhillyFiles f("job_id,submit_offset_s,num_gpus,runtime_s\n");
  auto t = ReadPhilly(f.opt);
  ASSERT_TRUE(t.has_value()) << t.error().message();
  EXPECT_TRUE(t->jobs.empty());
  EXPECT_EQ(t->rows_read, 0);
  EXPECT_EQ(InvalidCount(*t, f.opt.jobs_csv), 0);
  EXPECT_EQ(OfferedLoad(*t), 0.0);
}

TEST(TracePhilly, OffsetBeyond64BitsIsAnInvalidRow) {
  // strtoll saturates on overflow (ERANGE) and ParseInt does not check errno: the offset below is
  // read as 9223372036854775807 instead of being counted as invalid. (Simulate then never lets the
  // job arrive: its submit time is beyond kNever.)
  PhillyFiles f(
      "job_id,submit_offset_s,num_gpus,runtime_s\n"
      "huge_offset,99999999999999999999,8,100\n"  // line 2
      "ok,0,8,100\n");                            // line 3
  auto t = ReadPhilly(f.opt);
  ASSERT_TRUE(t.has_value()) << t.error().message();
  EXPECT_EQ(JobIds(*t), std::vector<std::string>{"ok"});
  EXPECT_EQ(InvalidLines(*t, f.opt.jobs_csv), std::vector<int>{2});
}

TEST(TracePhilly, HugeGpuCountIsAnInvalidRow) {
  // num_gpus has no upper bound (the machine list and openb cap GPUs at 64): 2^34 GPUs gives
  // 2^31 tasks of 8 GPUs, which static_cast<int32_t> turns into -2147483648 replicas.
  PhillyFiles f(
      "job_id,submit_offset_s,num_gpus,runtime_s\n"
      "huge_gpus,0,17179869184,100\n"  // line 2
      "ok,0,8,100\n");                 // line 3
  auto t = ReadPhilly(f.opt);
  ASSERT_TRUE(t.has_value()) << t.error().message();
  for (const SimJob& j : t->jobs)
    for (const core::TaskGroup& g : j.groups) EXPECT_GT(g.replicas, 0) << j.id;
  EXPECT_EQ(JobIds(*t), std::vector<std::string>{"ok"});
  EXPECT_EQ(InvalidLines(*t, f.opt.jobs_csv), std::vector<int>{2});
}

// =============================================================================================
// openb

const char kOpenbNodes[] =
    "sn,cpu_milli,memory_mib,gpu,model\n"  // 1
    "n-cpu,32000,262144,0,\n"              // 2: CPU-only node
    "n-g2,96000,786432,8,G2\n"             // 3
    "n-t4,64000,131072,2,T4\n"             // 4
    "n-bad,64000,131072,2,\n"              // 5: GPUs but no model
    "n-neg,-1,131072,0,\n"                 // 6: negative cpu
    "n-many,1000,1000,65,G2\n"             // 7: > 64 GPUs
    "n-short,1000,1000,1\n";               // 8: 4 fields of 5

const char kOpenbPods[] =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_"
    "time,"
    "scheduled_time\n"                                                  // 1
    "share,6000,12288,1,460,,LS,Running,100,1100,150\n"                 // 2: 460 milli of one GPU
    "whole1,4000,8192,1,1000,V100M16|V100M32,BE,Running,200,500,200\n"  // 3
    "multi,8000,16384,2,1000,G2,Burstable,Running,0,1000,\n"  // 4: not scheduled: from creation
    "cpu,2000,1024,0,0,,Guaranteed,Running,50,60,55\n"        // 5: no GPU
    "pend,1000,1024,8,1000,A||B|,,Pending,300,400,\n"         // 6: empty models skipped
    "del_before,1000,1024,1,500,,LS,Running,100,50,\n"        // 7: deleted before creation
    "del_equal,1000,1024,1,500,,LS,Running,100,200,200\n"     // 8: deleted when scheduled
    "del_before_sched,1000,1024,1,500,,LS,Running,0,50,60\n"  // 9: deleted before scheduled
    "zero_share,1000,1024,1,0,,LS,Running,0,50,0\n"           // 10: 1 GPU, 0 milli
    "milli_big,1000,1024,1,1500,,LS,Running,0,50,0\n"         // 11: gpu_milli > 1000
    "ngpu_big,1000,1024,65,1000,,LS,Running,0,50,0\n"         // 12: num_gpu > 64
    "neg_mem,1000,-1,1,500,,LS,Running,0,50,0\n"              // 13
    "nan_cpu,abc,1024,1,500,,LS,Running,0,50,0\n"             // 14
    "neg_create,1000,1024,1,500,,LS,Running,-1,50,0\n"        // 15
    "bad_del,1000,1024,1,500,,LS,Running,0,x,0\n"             // 16
    "bad_sched,1000,1024,1,500,,LS,Running,0,50,y\n"          // 17
    "short,1000,1024\n";                                      // 18: 3 fields of 11

struct OpenbFiles {
  TempDir dir;
  OpenbOptions opt;
  OpenbFiles(const std::string& pods = kOpenbPods, const std::string& nodes = kOpenbNodes) {
    opt.pods_csv = dir.Write("pods.csv", pods);
    opt.nodes_csv = dir.Write("nodes.csv", nodes);
    opt.estimates = Exact();
  }
};

TEST(TraceOpenb, ValidRowsBecomeJobs) {
  OpenbFiles f;
  auto t = ReadOpenb(f.opt);
  ASSERT_TRUE(t.has_value()) << t.error().message();
  EXPECT_EQ(t->name, "openb");
  // Sorted by creation time: multi (0), cpu (50), share (100), whole1 (200), pend (300).
  EXPECT_EQ(JobIds(*t), (std::vector<std::string>{"multi", "cpu", "share", "whole1", "pend"}));

  // num_gpu 1, gpu_milli 460: a share of one GPU. Duration from the scheduled time: 1100 - 150.
  const SimJob* share = FindJob(*t, "share");
  ASSERT_NE(share, nullptr);
  EXPECT_EQ(share->submit, 100);
  EXPECT_EQ(share->duration, 950);
  EXPECT_EQ(share->max_runtime, 950);
  ASSERT_EQ(share->groups.size(), 1u);
  EXPECT_EQ(share->groups[0].name, "pod");
  EXPECT_EQ(share->groups[0].replicas, 1);
  EXPECT_EQ(share->groups[0].resources, core::ResourceVector::Of(6000, 12288 * kMiB, 460));
  EXPECT_TRUE(share->groups[0].gpu_models.empty());
  EXPECT_EQ(share->priority, 10);  // LS

  // num_gpu 1, gpu_milli 1000: one whole GPU; gpu_spec split on '|'.
  const SimJob* whole1 = FindJob(*t, "whole1");
  ASSERT_NE(whole1, nullptr);
  EXPECT_EQ(whole1->duration, 300);
  EXPECT_EQ(whole1->GpuMilli(), 1000);
  EXPECT_EQ(whole1->groups[0].gpu_models, (std::vector<std::string>{"V100M16", "V100M32"}));
  EXPECT_EQ(whole1->priority, 0);  // BE

  // num_gpu 2: whole GPUs (2000 milli), whatever gpu_milli says. Empty scheduled_time: the
  // duration counts from creation (1000 - 0).
  const SimJob* multi = FindJob(*t, "multi");
  ASSERT_NE(multi, nullptr);
  EXPECT_EQ(multi->submit, 0);
  EXPECT_EQ(multi->duration, 1000);
  EXPECT_EQ(multi->GpuMilli(), 2000);
  EXPECT_EQ(multi->groups[0].gpu_models, std::vector<std::string>{"G2"});
  EXPECT_EQ(multi->priority, 5);  // Burstable

  const SimJob* cpu = FindJob(*t, "cpu");
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu->GpuMilli(), 0);
  EXPECT_EQ(cpu->duration, 5);   // 60 - 55
  EXPECT_EQ(cpu->priority, 10);  // Guaranteed

  const SimJob* pend = FindJob(*t, "pend");
  ASSERT_NE(pend, nullptr);
  EXPECT_EQ(pend->GpuMilli(), 8000);
  EXPECT_EQ(pend->duration, 100);
  EXPECT_EQ(pend->groups[0].gpu_models, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(pend->priority, 5);  // empty qos

  std::set<std::string> teams;
  for (const core::Project& p : t->projects) teams.insert(p.name);
  EXPECT_EQ(teams.size(), 8u);
  EXPECT_TRUE(teams.count("team-00") && teams.count("team-07"));
  for (const SimJob& j : t->jobs) {
    EXPECT_TRUE(teams.count(j.project)) << j.project;
    EXPECT_TRUE(j.user == "user-0" || j.user == "user-1" || j.user == "user-2" ||
                j.user == "user-3")
        << j.user;
    EXPECT_FALSE(j.checkpointable);  // openb default fraction 0
  }
}

TEST(TraceOpenb, InvalidRowsAreCountedWithLineNumbers) {
  OpenbFiles f;
  auto t = ReadOpenb(f.opt);
  ASSERT_TRUE(t.has_value()) << t.error().message();
  // Pod rows: lines 2-18 = 17; 5 valid, 12 invalid (lines 7-18).
  EXPECT_EQ(t->rows_read, 17);
  EXPECT_EQ(InvalidLines(*t, f.opt.pods_csv),
            (std::vector<int>{7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}));
  EXPECT_EQ(t->rows_read, static_cast<int64_t>(t->jobs.size()) + InvalidCount(*t, f.opt.pods_csv));
  EXPECT_EQ(InvalidLines(*t, f.opt.nodes_csv), (std::vector<int>{5, 6, 7, 8}));
  ExpectReasons(*t, f.opt.pods_csv,
                {{7, "deletion_time is not after the start"},
                 {8, "deletion_time is not after the start"},
                 {9, "deletion_time is not after the start"},
                 {10, "num_gpu 1 with gpu_milli 0"},
                 {11, "gpu_milli"},
                 {12, "num_gpu"},
                 {13, "memory_mib"},
                 {14, "cpu_milli"},
                 {15, "creation_time"},
                 {16, "deletion_time"},
                 {17, "scheduled_time"},
                 {18, "expected 11 fields, got 3"}});
}

TEST(TraceOpenb, Nodes) {
  OpenbFiles f;
  f.opt.topology = TopologyOptions{1, 2};  // one node per leaf, two leaves per spine
  auto t = ReadOpenb(f.opt);
  ASSERT_TRUE(t.has_value()) << t.error().message();
  EXPECT_EQ(NodeNames(*t), (std::vector<std::string>{"n-cpu", "n-g2", "n-t4"}));
  EXPECT_TRUE(t->nodes[0].gpus.empty());
  EXPECT_EQ(t->nodes[0].allocatable, core::ResourceVector::Of(32000, 262144 * kMiB, 0));
  ASSERT_EQ(t->nodes[1].gpus.size(), 8u);
  EXPECT_EQ(t->nodes[1].gpus[5].model, "G2");
  EXPECT_EQ(t->nodes[1].gpus[5].index, 5);
  EXPECT_EQ(t->nodes[1].gpus[5].nvlink_group, 1);
  ASSERT_EQ(t->nodes[2].gpus.size(), 2u);
  EXPECT_EQ(t->nodes[2].gpus[0].model, "T4");
  EXPECT_EQ(t->GpuCapacityMilli(), 10000);
  EXPECT_EQ(t->nodes[0].topology, (std::vector<std::string>{"spine-000", "leaf-0000"}));
  EXPECT_EQ(t->nodes[1].topology, (std::vector<std::string>{"spine-000", "leaf-0001"}));
  EXPECT_EQ(t->nodes[2].topology, (std::vector<std::string>{"spine-001", "leaf-0002"}));
}

TEST(TraceOpenb, OptionalColumnsMayBeAbsent) {
  // No gpu_spec, qos or scheduled_time: no model constraint, priority 5, duration from creation.
  OpenbFiles f(
      "name,cpu_milli,memory_mib,num_gpu,gpu_milli,creation_time,deletion_time\n"
      "p,1000,1024,1,300,10,70\n");
  auto t = ReadOpenb(f.opt);
  ASSERT_TRUE(t.has_value()) << t.error().message();
  ASSERT_EQ(t->jobs.size(), 1u);
  EXPECT_EQ(t->jobs[0].duration, 60);
  EXPECT_EQ(t->jobs[0].priority, 5);
  EXPECT_TRUE(t->jobs[0].groups[0].gpu_models.empty());
  EXPECT_EQ(t->jobs[0].GpuMilli(), 300);
}

TEST(TraceOpenb, MissingColumnsNameTheFile) {
  {
    OpenbFiles f("name,cpu_milli,memory_mib,num_gpu,gpu_milli,creation_time\np,1,1,0,0,0\n");
    auto t = ReadOpenb(f.opt);
    ASSERT_FALSE(t.has_value());
    EXPECT_EQ(t.error().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(t.error().message(), f.opt.pods_csv)) << t.error().message();
  }
  {
    OpenbFiles f(kOpenbPods, "sn,cpu_milli,memory_mib,gpu\nn,1,1,0\n");
    auto t = ReadOpenb(f.opt);
    ASSERT_FALSE(t.has_value());
    EXPECT_TRUE(Contains(t.error().message(), f.opt.nodes_csv)) << t.error().message();
    EXPECT_TRUE(Contains(t.error().message(), "model")) << t.error().message();
  }
}

TEST(TraceOpenb, MissingFilesAreErrors) {
  for (int which = 0; which < 2; ++which) {
    OpenbFiles f;
    (which == 0 ? f.opt.pods_csv : f.opt.nodes_csv) = f.dir.Path("absent.csv");
    auto t = ReadOpenb(f.opt);
    ASSERT_FALSE(t.has_value()) << which;
    EXPECT_EQ(t.error().code(), StatusCode::kNotFound) << which;
    EXPECT_TRUE(Contains(t.error().message(), "absent.csv")) << t.error().message();
  }
}

// =============================================================================================
// Offered load and arrival scaling

core::Node GpuNode(const std::string& name, int gpus, const std::string& model = "A100") {
  core::Node n;
  n.name = name;
  n.allocatable = core::ResourceVector::Of(64000, 512 * kGiB, 0);
  for (int g = 0; g < gpus; ++g) n.gpus.push_back(core::Gpu{g, model, g / 4});
  return n;
}

SimJob Job(const std::string& id, Seconds submit, int64_t gpus, Seconds duration) {
  SimJob j;
  j.id = id;
  j.submit = submit;
  j.duration = duration;
  core::TaskGroup g;
  g.name = "worker";
  g.replicas = 1;
  g.resources = core::ResourceVector::Of(1000, kGiB, gpus * 1000);
  j.groups.push_back(g);
  j.project = "p";
  return j;
}

// Two 4-GPU nodes (8 GPUs = 8000 milli); jobs at `first`, first+100, first+200:
//   j1: 2 GPUs x 50 s, j2: 4 GPUs x 500 s, j3: 1 GPU x 100 s.
Trace LoadTrace(Seconds first) {
  Trace t;
  t.nodes = {GpuNode("a", 4), GpuNode("b", 4)};
  t.jobs = {Job("j1", first, 2, 50), Job("j2", first + 100, 4, 500),
            Job("j3", first + 200, 1, 100)};
  return t;
}

TEST(TraceLoad, OfferedLoadClipsJobsToTheArrivalWindow) {
  // span = 200 s. work = 2000 x min(50, 200) + 4000 x min(500, 200) + 1000 x min(100, 200)
  //                    = 100,000 + 800,000 + 100,000 = 1,000,000 milli-GPU-s.
  // capacity x span = 8000 x 200 = 1,600,000.  load = 0.625.
  EXPECT_DOUBLE_EQ(OfferedLoad(LoadTrace(0)), 0.625);
  EXPECT_DOUBLE_EQ(OfferedLoad(LoadTrace(1000)), 0.625);  // only the span matters
  // One more node halves it: 1,000,000 / (16000 x 200).
  Trace t = LoadTrace(0);
  t.nodes.push_back(GpuNode("c", 8));
  EXPECT_DOUBLE_EQ(OfferedLoad(t), 0.3125);
  // A single job: span = max(1, 0) = 1 s; work = 2000 x min(50, 1) = 2000; 2000 / 8000.
  Trace one = LoadTrace(0);
  one.jobs.resize(1);
  EXPECT_DOUBLE_EQ(OfferedLoad(one), 0.25);
  // No jobs or no GPUs: 0.
  Trace empty = LoadTrace(0);
  empty.jobs.clear();
  EXPECT_EQ(OfferedLoad(empty), 0.0);
  Trace no_gpus = LoadTrace(0);
  no_gpus.nodes.clear();
  EXPECT_EQ(OfferedLoad(no_gpus), 0.0);
}

std::vector<Seconds> Submits(const Trace& t) {
  std::vector<Seconds> s;
  for (const SimJob& j : t.jobs) s.push_back(j.submit);
  return s;
}

TEST(TraceLoad, ScaleToLoadStretchesOrCompressesGaps) {
  // With gaps multiplied by m the span is 200m. For 100 <= 200m <= 500 only j2 is clipped:
  //   work = 100,000 + 4000 x 200m + 100,000 = 200,000 + 800,000 m
  //   load = (200,000 + 800,000 m) / (8000 x 200m) = 0.125 / m + 0.5
  // load 0.5625 -> m = 2 (span 400, in range): arrivals 0, 200, 400 (the first moved to 0).
  Trace t = LoadTrace(1000);
  ScaleToLoad(t, 0.5625);
  EXPECT_EQ(Submits(t), (std::vector<Seconds>{0, 200, 400}));
  EXPECT_NEAR(OfferedLoad(t), 0.5625, 1e-9);
  // load 0.75 -> m = 0.5 (span 100, in range): arrivals 0, 50, 100.
  Trace c = LoadTrace(0);
  ScaleToLoad(c, 0.75);
  EXPECT_EQ(Submits(c), (std::vector<Seconds>{0, 50, 100}));
  EXPECT_NEAR(OfferedLoad(c), 0.75, 1e-9);
  // The load it already has: m = 1, only the shift to 0.
  Trace same = LoadTrace(300);
  ScaleToLoad(same, 0.625);
  EXPECT_EQ(Submits(same), (std::vector<Seconds>{0, 100, 200}));
}

TEST(TraceLoad, UnreachableTargetLeavesTraceAsIs) {
  // For 200m < 50 every job is clipped to the span: load = (2000 + 4000 + 1000) x 200m /
  // (8000 x 200m) = 0.875, the most any compression gives. 1.0 cannot be reached.
  Trace t = LoadTrace(1000);
  EXPECT_FALSE(ScaleToLoad(t, 1.0));
  EXPECT_NEAR(MaxOfferedLoad(t), 0.875, 1e-6);
  EXPECT_EQ(Submits(t), (std::vector<Seconds>{1000, 1100, 1200}));
  // Target <= 0: nothing either.
  ScaleToLoad(t, 0);
  EXPECT_EQ(Submits(t), (std::vector<Seconds>{1000, 1100, 1200}));
  // Just below the ceiling is reachable.
  EXPECT_TRUE(ScaleToLoad(t, 0.87));
  EXPECT_EQ(t.jobs.front().submit, 0);
  EXPECT_NEAR(OfferedLoad(t), 0.87, 0.02);  // submits are rounded to whole seconds
}

// =============================================================================================
// ShrinkCluster

TEST(TraceShrink, KeepsEveryKthNodeOfEachModelAndSize) {
  // Strata (model, GPUs): A/8 x 4, B/2 x 2, A/4 x 2, CPU-only x 1, interleaved.
  Trace t;
  t.nodes = {GpuNode("a0", 8, "A"), GpuNode("b0", 2, "B"), GpuNode("a1", 8, "A"),
             GpuNode("c0", 0),      GpuNode("a2", 8, "A"), GpuNode("s0", 4, "A"),
             GpuNode("b1", 2, "B"), GpuNode("a3", 8, "A"), GpuNode("s1", 4, "A")};
  // fraction 0.5: node i of a stratum stays when floor(i / 2) > floor((i - 1) / 2), i.e. i even
  // (i = 0 always: floor(0) = 0 > floor(-0.5) = -1, so no model or node size disappears):
  // a0, a2; b0; s0; c0 -- in list order.
  ShrinkCluster(t, 0.5, TopologyOptions{2, 1});
  EXPECT_EQ(NodeNames(t), (std::vector<std::string>{"a0", "b0", "c0", "a2", "s0"}));
  // Every stratum survives: A/8 2 of 4, B/2 1 of 2, A/4 1 of 2, CPU 1 of 1.
  std::map<std::pair<std::string, size_t>, int> strata;
  for (const core::Node& n : t.nodes)
    ++strata[{n.gpus.empty() ? "" : n.gpus[0].model, n.gpus.size()}];
  EXPECT_EQ(strata.size(), 4u);
  EXPECT_EQ((strata[{"A", 8}]), 2);
  EXPECT_EQ((strata[{"B", 2}]), 1);
  EXPECT_EQ((strata[{"A", 4}]), 1);
  EXPECT_EQ((strata[{"", 0}]), 1);
  // Topology laid out again: two per leaf, one leaf per spine.
  EXPECT_EQ(t.nodes[0].topology, (std::vector<std::string>{"spine-000", "leaf-0000"}));
  EXPECT_EQ(t.nodes[1].topology, (std::vector<std::string>{"spine-000", "leaf-0000"}));
  EXPECT_EQ(t.nodes[2].topology, (std::vector<std::string>{"spine-001", "leaf-0001"}));
  EXPECT_EQ(t.nodes[3].topology, (std::vector<std::string>{"spine-001", "leaf-0001"}));
  EXPECT_EQ(t.nodes[4].topology, (std::vector<std::string>{"spine-002", "leaf-0002"}));
}

TEST(TraceShrink, FractionsAndNoOps) {
  Trace t;
  for (int i = 0; i < 8; ++i) t.nodes.push_back(GpuNode("n" + std::to_string(i), 8));
  // fraction 0.25: kept when floor(i / 4) advances: i = 0, 4.
  Trace q = t;
  ShrinkCluster(q, 0.25, TopologyOptions{});
  EXPECT_EQ(NodeNames(q), (std::vector<std::string>{"n0", "n4"}));
  // fraction 0.125 (the openb default) of 8: only n0; of a single node: that node.
  Trace e = t;
  ShrinkCluster(e, 0.125, TopologyOptions{});
  EXPECT_EQ(NodeNames(e), std::vector<std::string>{"n0"});
  // fraction 0.75: floor(i x 0.75) for i = 0..7 is 0,0,1,2,3,3,4,5 and floor((i - 1) x 0.75) is
  // -1,0,0,1,2,3,3,4: it advances at i = 0, 2, 3, 4, 6, 7 (6 of 8 nodes).
  Trace th = t;
  ShrinkCluster(th, 0.75, TopologyOptions{});
  EXPECT_EQ(NodeNames(th), (std::vector<std::string>{"n0", "n2", "n3", "n4", "n6", "n7"}));
  // fraction >= 1 or <= 0 leaves the cluster alone (topology untouched too).
  for (double f : {1.0, 1.5, 0.0, -1.0}) {
    Trace u = t;
    ShrinkCluster(u, f, TopologyOptions{});
    EXPECT_EQ(NodeNames(u), NodeNames(t)) << f;
    EXPECT_TRUE(u.nodes[0].topology.empty()) << f;
  }
}

// =============================================================================================
// Synthetic traces

void ExpectSameJobs(const Trace& a, const Trace& b) {
  ASSERT_EQ(a.jobs.size(), b.jobs.size());
  for (size_t i = 0; i < a.jobs.size(); ++i) {
    const SimJob& x = a.jobs[i];
    const SimJob& y = b.jobs[i];
    EXPECT_EQ(x.id, y.id);
    EXPECT_EQ(x.submit, y.submit) << x.id;
    EXPECT_EQ(x.duration, y.duration) << x.id;
    EXPECT_EQ(x.project, y.project) << x.id;
    EXPECT_EQ(x.user, y.user) << x.id;
    EXPECT_EQ(x.priority, y.priority) << x.id;
    EXPECT_EQ(x.checkpointable, y.checkpointable) << x.id;
    EXPECT_EQ(x.max_runtime, y.max_runtime) << x.id;
    ASSERT_EQ(x.groups.size(), y.groups.size()) << x.id;
    for (size_t g = 0; g < x.groups.size(); ++g) {
      EXPECT_EQ(x.groups[g].replicas, y.groups[g].replicas) << x.id;
      EXPECT_EQ(x.groups[g].resources, y.groups[g].resources) << x.id;
    }
  }
}

SyntheticOptions SmallSynthetic(uint64_t seed) {
  SyntheticOptions o;
  o.seed = seed;
  o.nodes = 6;
  o.jobs = 300;
  o.topology = TopologyOptions{4, 2};
  return o;
}

TEST(TraceSynthetic, SameSeedSameTrace) {
  Trace a = MakeSyntheticTrace(SmallSynthetic(11));
  Trace b = MakeSyntheticTrace(SmallSynthetic(11));
  ExpectSameJobs(a, b);
  EXPECT_EQ(NodeNames(a), NodeNames(b));
  // Another seed gives another trace.
  Trace c = MakeSyntheticTrace(SmallSynthetic(12));
  ASSERT_EQ(c.jobs.size(), a.jobs.size());
  int differ = 0;
  for (size_t i = 0; i < a.jobs.size(); ++i)
    differ += a.jobs[i].submit != c.jobs[i].submit || a.jobs[i].duration != c.jobs[i].duration;
  EXPECT_GT(differ, 250);
}

TEST(TraceSynthetic, Shape) {
  const SyntheticOptions o = SmallSynthetic(5);
  Trace t = MakeSyntheticTrace(o);
  EXPECT_EQ(t.name, "synthetic");
  EXPECT_EQ(t.rows_read, 300);
  EXPECT_TRUE(t.invalid.empty());
  ASSERT_EQ(t.nodes.size(), 6u);
  EXPECT_EQ(t.GpuCapacityMilli(), 48000);
  EXPECT_EQ(t.nodes[5].topology, (std::vector<std::string>{"spine-000", "leaf-0001"}));
  ASSERT_EQ(t.projects.size(), 4u);
  EXPECT_EQ(t.projects[3].name, "proj-03");
  EXPECT_EQ(t.projects[3].weight, 4.0);
  ASSERT_EQ(t.jobs.size(), 300u);
  for (size_t i = 0; i < t.jobs.size(); ++i) {
    const SimJob& j = t.jobs[i];
    if (i > 0) {
      const SimJob& p = t.jobs[i - 1];
      EXPECT_TRUE(p.submit < j.submit || (p.submit == j.submit && p.id < j.id)) << j.id;
    }
    EXPECT_GE(j.duration, 60) << j.id;
    EXPECT_TRUE(j.priority == 0 || j.priority == 100) << j.id;
    ASSERT_EQ(j.groups.size(), 1u);
    // Gangs of whole nodes above 8 GPUs: 16 -> 2 x 8, 32 -> 4 x 8; smaller ones in one task.
    const int64_t gpus = j.GpuMilli() / 1000;
    EXPECT_TRUE(gpus == 1 || gpus == 2 || gpus == 4 || gpus == 8 || gpus == 16 || gpus == 32)
        << j.id;
    EXPECT_EQ(j.groups[0].replicas, gpus > 8 ? gpus / 8 : 1) << j.id;
    EXPECT_GE(j.max_runtime, j.duration) << j.id;
    EXPECT_EQ(j.max_runtime % 3600, 0) << j.id;
  }
}

}  // namespace
}  // namespace kumo::sim
