#include "sim/report.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace kumo::sim {
namespace {

std::string F(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string Esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o.push_back('\\');
      o.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else {
      o.push_back(c);
    }
  }
  return o;
}

std::string Num(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string DistJson(const Distribution& d) {
  return "{\"mean\":" + Num(d.mean) + ",\"p50\":" + Num(d.p50) + ",\"p95\":" + Num(d.p95) +
         ",\"p99\":" + Num(d.p99) + ",\"count\":" + std::to_string(d.count) + "}";
}

std::string Hours(double s) { return F("%.2f", s / 3600.0); }

}  // namespace

std::string FormatTable(const std::vector<SimReport>& reports) {
  std::ostringstream o;
  if (reports.empty()) return "";
  o << "\ntrace " << reports[0].trace << ", offered load " << F("%.2f", reports[0].load)
    << " (times in hours; GPUalloc = mean GPU allocation over the arrival window)\n";
  char line[512];
  std::snprintf(line, sizeof line,
                "%-14s %8s %8s %8s %8s %8s %8s %7s %9s %6s %7s %8s %7s %9s %7s\n", "policy",
                "meanJCT", "p50JCT", "p95JCT", "p99JCT", "meanWait", "p99Wait", "GPUalloc",
                "makespan", "Jain", "preempt", "GPUhLost", "partial", "pass ms", "wall s");
  o << line;
  for (const SimReport& r : reports) {
    std::snprintf(
        line, sizeof line,
        "%-14s %8s %8s %8s %8s %8s %8s %7.1f%% %9s %6.3f %7lld %8.1f %7lld %4.2f/%-4.1f %7.2f\n",
        r.policy.c_str(), Hours(r.jct_s.mean).c_str(), Hours(r.jct_s.p50).c_str(),
        Hours(r.jct_s.p95).c_str(), Hours(r.jct_s.p99).c_str(), Hours(r.wait_s.mean).c_str(),
        Hours(r.wait_s.p99).c_str(), 100.0 * r.gpu_allocation,
        Hours(static_cast<double>(r.makespan_s)).c_str(), r.jain_fairness,
        static_cast<long long>(r.preemptions), r.gpu_hours_lost,
        static_cast<long long>(r.partial_gangs), r.pass_ms_mean, r.pass_ms_p99, r.wall_s);
    o << line;
  }
  o << "\nqueueing delay (all time pending, also after preemption), goodput (allocation minus "
       "work lost and restarts, over the arrival window), finish-time fairness (Themis rho):\n";
  std::snprintf(line, sizeof line, "%-14s %9s %9s %8s %8s %8s %9s\n", "policy", "meanQueue",
                "p99Queue", "goodput", "rhoMean", "rhoMax", "GPUhRestart");
  o << line;
  for (const SimReport& r : reports) {
    std::snprintf(line, sizeof line, "%-14s %9s %9s %7.1f%% %8.2f %8.2f %9.1f\n",
                  r.policy.c_str(), Hours(r.queue_s.mean).c_str(), Hours(r.queue_s.p99).c_str(),
                  100.0 * r.goodput, r.ftf_rho_mean, r.ftf_rho_max, r.gpu_hours_restart);
    o << line;
  }
  o << "\nmean JCT by gang size (GPUs), hours:\n";
  std::vector<std::string> classes = {"1", "2-8", "9-32", ">32"};
  std::snprintf(line, sizeof line, "%-14s", "policy");
  o << line;
  for (const auto& c : classes) {
    std::snprintf(line, sizeof line, " %14s", (c + " (n)").c_str());
    o << line;
  }
  o << "\n";
  for (const SimReport& r : reports) {
    std::snprintf(line, sizeof line, "%-14s", r.policy.c_str());
    o << line;
    for (const auto& c : classes) {
      auto it = r.jct_by_class.find(c);
      if (it == r.jct_by_class.end()) {
        std::snprintf(line, sizeof line, " %14s", "-");
      } else {
        std::snprintf(line, sizeof line, " %8s (%4lld)", Hours(it->second.mean).c_str(),
                      static_cast<long long>(it->second.count));
      }
      o << line;
    }
    o << "\n";
  }
  return o.str();
}

std::string ReportsToJson(const Trace& trace, const std::vector<SimReport>& reports) {
  std::ostringstream o;
  o << "{\"trace\":\"" << Esc(trace.name) << "\",\"jobs\":" << trace.jobs.size()
    << ",\"nodes\":" << trace.nodes.size() << ",\"gpus\":" << trace.GpuCapacityMilli() / 1000
    << ",\"rows_read\":" << trace.rows_read << ",\"invalid_rows\":" << trace.invalid.size()
    << ",\"load\":" << Num(reports.empty() ? 0 : reports[0].load) << ",\"policies\":{";
  for (size_t i = 0; i < reports.size(); ++i) {
    const SimReport& r = reports[i];
    if (i) o << ",";
    o << "\"" << Esc(r.policy) << "\":{"
      << "\"mean_jct_s\":" << Num(r.jct_s.mean) << ",\"p50_jct_s\":" << Num(r.jct_s.p50)
      << ",\"p95_jct_s\":" << Num(r.jct_s.p95) << ",\"p99_jct_s\":" << Num(r.jct_s.p99)
      << ",\"mean_wait_s\":" << Num(r.wait_s.mean) << ",\"p50_wait_s\":" << Num(r.wait_s.p50)
      << ",\"p95_wait_s\":" << Num(r.wait_s.p95) << ",\"p99_wait_s\":" << Num(r.wait_s.p99)
      << ",\"gpu_allocation\":" << Num(r.gpu_allocation)
      << ",\"gpu_allocation_makespan\":" << Num(r.gpu_allocation_makespan)
      << ",\"gpu_allocation_contended\":" << Num(r.gpu_allocation_contended)
      << ",\"contended_hours\":" << Num(r.contended_hours) << ",\"makespan_s\":" << r.makespan_s
      << ",\"jain_fairness\":" << Num(r.jain_fairness) << ",\"preemptions\":" << r.preemptions
      << ",\"gpu_hours_lost\":" << Num(r.gpu_hours_lost)
      << ",\"gpu_hours_restart\":" << Num(r.gpu_hours_restart)
      << ",\"queueing_delay_mean_s\":" << Num(r.queue_s.mean)
      << ",\"queueing_delay_p99_s\":" << Num(r.queue_s.p99) << ",\"goodput\":" << Num(r.goodput)
      << ",\"ftf_rho_max\":" << Num(r.ftf_rho_max) << ",\"ftf_rho_mean\":" << Num(r.ftf_rho_mean)
      << ",\"estimated_jobs\":" << r.estimate_error.count
      << ",\"estimate_error_p50\":" << Num(r.estimate_error.p50)
      << ",\"estimate_error_p90\":" << Num(r.estimate_error.p90)
      << ",\"partial_gangs\":" << r.partial_gangs
      << ",\"jobs\":" << r.jobs << ",\"completed\":" << r.completed
      << ",\"unschedulable\":" << r.unschedulable << ",\"passes\":" << r.passes
      << ",\"pass_ms_mean\":" << Num(r.pass_ms_mean) << ",\"pass_ms_p99\":" << Num(r.pass_ms_p99)
      << ",\"wall_s\":" << Num(r.wall_s) << ",\"jct_by_gang_gpus\":{";
    bool first = true;
    for (const auto& [k, d] : r.jct_by_class) {
      o << (first ? "" : ",") << "\"" << Esc(k) << "\":" << DistJson(d);
      first = false;
    }
    o << "},\"wait_by_gang_gpus\":{";
    first = true;
    for (const auto& [k, d] : r.wait_by_class) {
      o << (first ? "" : ",") << "\"" << Esc(k) << "\":" << DistJson(d);
      first = false;
    }
    o << "},\"queueing_delay_by_gang_gpus\":{";
    first = true;
    for (const auto& [k, d] : r.queue_by_class) {
      o << (first ? "" : ",") << "\"" << Esc(k) << "\":" << DistJson(d);
      first = false;
    }
    o << "},\"slowdown_by_project\":{";
    first = true;
    for (const auto& [k, v] : r.slowdown_by_project) {
      o << (first ? "" : ",") << "\"" << Esc(k) << "\":" << Num(v);
      first = false;
    }
    o << "}}";
  }
  o << "}}\n";
  return o.str();
}

namespace {

// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

}  // namespace

std::string JobsToCsv(const std::vector<SimReport>& reports) {
  std::ostringstream o;
  o << "policy,job,project,gpus,duration_s,submit_s,first_start_s,end_s,jct_s,first_wait_s,"
       "queued_s,requeued_s,preemptions,lost_gpu_s\n";
  for (const SimReport& r : reports) {
    for (const JobOutcome& j : r.outcomes) {
      const bool started = j.first_start >= 0, ended = j.end >= 0;
      const core::Seconds first_wait = started ? j.first_start - j.submit : -1;
      o << CsvField(r.policy) << ',' << CsvField(j.id) << ',' << CsvField(j.project) << ','
        << F("%g", static_cast<double>(j.gpu_milli) / 1000.0) << ',' << j.duration << ','
        << j.submit << ',' << j.first_start << ',' << j.end << ','
        << (ended ? j.end - j.submit : -1) << ',' << first_wait << ',' << j.queued << ','
        << (started ? j.queued - first_wait : -1) << ',' << j.preemptions << ','
        << F("%.0f", j.lost_gpu_s) << '\n';
    }
  }
  return o.str();
}

namespace {

Status RunGnuplot(const std::string& script) {
  std::string cmd = "gnuplot '" + script + "' 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return Status::FailedPrecondition("cannot run gnuplot");
  char buf[256];
  std::string output;
  while (std::fgets(buf, sizeof buf, p)) output += buf;
  int rc = ::pclose(p);
  if (rc != 0)
    return Status::FailedPrecondition(
        "gnuplot failed (is it installed? apt-get install gnuplot-nox): " + output);
  return Status::Ok();
}

}  // namespace

Status WriteSweepPlots(const std::string& dir,
                       const std::vector<std::pair<double, std::vector<SimReport>>>& sweep) {
  ::mkdir(dir.c_str(), 0755);
  struct stat sb;
  if (::stat(dir.c_str(), &sb) != 0 || !S_ISDIR(sb.st_mode))
    return Status::InvalidArgument("cannot create " + dir);
  if (sweep.empty()) return Status::Ok();
  // One data file per policy: load, mean JCT (h), p99 wait (h), allocation (%).
  std::string jct, wait, alloc;
  const auto& policies = sweep.front().second;
  for (size_t p = 0; p < policies.size(); ++p) {
    const std::string name = policies[p].policy;
    std::ofstream f(dir + "/sweep_" + name + ".dat");
    for (const auto& [load, reps] : sweep)
      for (const SimReport& r : reps)
        if (r.policy == name)
          f << load << " " << r.jct_s.mean / 3600.0 << " " << r.wait_s.p99 / 3600.0 << " "
            << 100.0 * r.gpu_allocation << "\n";
    const std::string sep = p ? ", " : "";
    const std::string file = "'" + dir + "/sweep_" + name + ".dat'";
    jct += sep + file + " using 1:2 with linespoints lw 2 title '" + name + "'";
    wait += sep + file + " using 1:3 with linespoints lw 2 title '" + name + "'";
    alloc += sep + file + " using 1:4 with linespoints lw 2 title '" + name + "'";
  }
  const std::string trace = policies.empty() ? "" : policies.front().trace;
  std::ofstream gp(dir + "/sweep.gp");
  gp << "set terminal pngcairo size 900,520 font 'sans,11'\nset key top left\nset grid\nset xlabel "
        "'offered load'\n"
     << "set output '" << dir << "/mean_jct_vs_load.png'\nset title 'Mean JCT vs load: " << trace
     << "'\n"
     << "set ylabel 'mean JCT (hours)'\nplot " << jct << "\n"
     << "set output '" << dir << "/p99_wait_vs_load.png'\nset title 'p99 wait vs load: " << trace
     << "'\n"
     << "set ylabel 'p99 waiting time (hours)'\nplot " << wait << "\n"
     << "set key bottom right\nset output '" << dir
     << "/allocation_vs_load.png'\nset title 'GPU allocation vs load: " << trace
     << "'\nset ylabel 'GPU allocation over the arrival window (%)'\nplot " << alloc << "\n";
  gp.close();
  if (!gp) return Status::InvalidArgument("cannot write " + dir + "/sweep.gp");
  return RunGnuplot(dir + "/sweep.gp");
}

Status WritePlots(const std::string& dir, const std::vector<SimReport>& reports) {
  ::mkdir(dir.c_str(), 0755);
  struct stat sb;
  if (::stat(dir.c_str(), &sb) != 0 || !S_ISDIR(sb.st_mode))
    return Status::InvalidArgument("cannot create " + dir);
  std::string plots_cdf, plots_queue, plots_alloc;
  for (size_t i = 0; i < reports.size(); ++i) {
    const SimReport& r = reports[i];
    std::vector<double> jct;
    for (const auto& o : r.outcomes)
      if (o.end >= 0) jct.push_back(static_cast<double>(o.end - o.submit) / 3600.0);
    std::sort(jct.begin(), jct.end());
    std::ofstream cdf(dir + "/jct_cdf_" + r.policy + ".dat");
    for (size_t k = 0; k < jct.size(); ++k)
      cdf << jct[k] << " " << static_cast<double>(k + 1) / jct.size() << "\n";
    std::ofstream ts(dir + "/series_" + r.policy + ".dat");
    const double t0 = r.series.empty() ? 0 : static_cast<double>(r.series.front().t);
    for (const auto& p : r.series)
      ts << (static_cast<double>(p.t) - t0) / 3600.0 << " " << p.pending_jobs << " "
         << p.allocated_gpu_milli / 1000.0 << "\n";
    const std::string sep = i ? ", " : "";
    plots_cdf += sep + "'" + dir + "/jct_cdf_" + r.policy +
                 ".dat' using 1:2 with lines lw 2 title '" + r.policy + "'";
    plots_queue += sep + "'" + dir + "/series_" + r.policy + ".dat' using 1:2 with steps title '" +
                   r.policy + "'";
    plots_alloc += sep + "'" + dir + "/series_" + r.policy + ".dat' using 1:3 with steps title '" +
                   r.policy + "'";
  }
  const std::string title =
      reports.empty() ? "" : reports[0].trace + " at load " + F("%.2f", reports[0].load);
  std::ofstream gp(dir + "/plots.gp");
  gp << "set terminal pngcairo size 900,520 font 'sans,11'\nset key bottom right\nset grid\n"
     << "set output '" << dir << "/jct_cdf.png'\nset title 'JCT CDF: " << title
     << "'\nset logscale x\n"
     << "set xlabel 'job completion time (hours, log scale)'\nset ylabel 'fraction of jobs'\nplot "
     << plots_cdf << "\n"
     << "unset logscale x\nset key top right\n"
     << "set output '" << dir << "/queue.png'\nset title 'Waiting jobs: " << title << "'\n"
     << "set xlabel 'time since first arrival (hours)'\nset ylabel 'pending jobs'\nplot "
     << plots_queue << "\n"
     << "set output '" << dir << "/allocation.png'\nset title 'Allocated GPUs: " << title << "'\n"
     << "set ylabel 'GPUs allocated'\nplot " << plots_alloc << "\n";
  gp.close();
  if (!gp) return Status::InvalidArgument("cannot write " + dir + "/plots.gp");
  return RunGnuplot(dir + "/plots.gp");
}

}  // namespace kumo::sim
