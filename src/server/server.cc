#include "server/server.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/clock.h"
#include "base/random.h"
#include "base/sha256.h"
#include "server/util.h"

namespace kumo::server {
namespace fs = std::filesystem;
using nlohmann::json;

Result<ServerConfig> LoadServerConfig(const std::string& path, ServerConfig base) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const std::exception& e) {
    return Error(Status::InvalidArgument(path + ": " + e.what()));
  }
  if (!root.IsMap()) return Error(Status::InvalidArgument(path + ": expected a mapping"));
  auto where = [&](const YAML::Node& n, const std::string& field) {
    return path + ": line " + std::to_string(n.Mark().line + 1) + ": " + field;
  };
  try {
    for (auto it = root.begin(); it != root.end(); ++it) {
      std::string key = it->first.as<std::string>();
      const YAML::Node& v = it->second;
      if (key == "inventory") {
        base.inventory_file = v.as<std::string>();
        if (!base.inventory_file.empty() && base.inventory_file[0] != '/')
          base.inventory_file = (fs::path(path).parent_path() / base.inventory_file).string();
      } else if (key == "placement") {
        base.scheduler.placement = v.as<std::string>();
      } else if (key == "queueOrder") {
        base.scheduler.queue_order = v.as<std::string>();
      } else if (key == "backfill") {
        auto m = core::ParseBackfillMode(v.as<std::string>());
        if (!m) return Error(Status::InvalidArgument(where(v, key) + ": " + m.error().message()));
        base.scheduler.backfill = *m;
      } else if (key == "preemption") {
        base.scheduler.preemption = v.as<bool>();
      } else if (key == "cgroups") {
        base.use_cgroups = v.as<bool>();
      } else if (key == "tickSeconds") {
        base.tick_s = v.as<double>();
        if (base.tick_s <= 0 || base.tick_s > 60)
          return Error(Status::InvalidArgument(where(v, key) + ": must be in (0, 60]"));
      } else if (key == "priorityClasses") {
        if (!v.IsSequence())
          return Error(Status::InvalidArgument(where(v, key) + ": expected a list"));
        base.priority_classes.clear();
        for (size_t i = 0; i < v.size(); ++i) {
          PriorityClass pc;
          for (auto f = v[i].begin(); f != v[i].end(); ++f) {
            std::string k = f->first.as<std::string>();
            if (k == "name")
              pc.name = f->second.as<std::string>();
            else if (k == "value")
              pc.value = f->second.as<int32_t>();
            else if (k == "preemptible")
              pc.preemptible = f->second.as<bool>();
            else
              return Error(Status::InvalidArgument(
                  where(f->first, key + "[" + std::to_string(i) + "]." + k) + ": unknown field"));
          }
          if (pc.name.empty())
            return Error(Status::InvalidArgument(
                where(v[i], key + "[" + std::to_string(i) + "].name") + ": required"));
          base.priority_classes.push_back(pc);
        }
      } else {
        return Error(Status::InvalidArgument(where(it->first, key) + ": unknown field"));
      }
    }
  } catch (const YAML::Exception& e) {
    return Error(
        Status::InvalidArgument(path + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg));
  }
  return base;
}

Server::Server(ServerConfig config) : config_(std::move(config)) {}

Result<std::unique_ptr<Server>> Server::Start(ServerConfig config) {
  std::unique_ptr<Server> s(new Server(std::move(config)));
  if (Status st = s->Init(); !st.ok()) return Error(st);
  return s;
}

Server::~Server() { Stop(); }

void Server::Stop() {
  if (http_) http_->Stop();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (loop_.joinable()) loop_.join();
  if (exit_watcher_.joinable()) exit_watcher_.join();
  std::future<Status> last;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (store_) last = Flush();
  }
  if (last.valid()) last.wait();
}

std::string Server::JobDir(int64_t id) const {
  return config_.data_dir + "/jobs/" + std::to_string(id);
}
std::string Server::AttemptDir(int64_t id, int32_t attempt) const {
  return JobDir(id) + "/attempt-" + std::to_string(attempt);
}

const PriorityClass* Server::FindPriorityClass(const std::string& name) const {
  for (const auto& pc : config_.priority_classes)
    if (pc.name == name) return &pc;
  return nullptr;
}

bool Server::MayAccess(const UserRec& user, const std::string& project) const {
  return user.admin || user.projects.count(project) > 0;
}

std::string Server::CreateToken(const std::string& user, double now) {
  std::string token = "kumo_";
  static const char* alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  while (token.size() < 45) {  // 40 characters, uniform: bytes >= 248 (= 4 * 62) are dropped
    unsigned char r[48];
    RandomBytes(r, sizeof r);
    for (unsigned char c : r)
      if (c < 248 && token.size() < 45) token.push_back(alphabet[c % 62]);
  }
  std::string hash = Sha256Hex(token);
  tokens_[hash] = user;
  pending_writes_.push_back(
      {"INSERT INTO tokens(sha256, user, created_at) VALUES(?1, ?2, ?3)", {hash, user, now}});
  return token;
}

Status Server::Init() {
  if (config_.data_dir.empty()) return Status::InvalidArgument("--data-dir is required");
  std::error_code ec;
  fs::create_directories(config_.data_dir + "/jobs", ec);
  if (ec) return Status::FailedPrecondition("data dir " + config_.data_dir + ": " + ec.message());
  config_.data_dir = fs::canonical(config_.data_dir).string();

  if (config_.inventory_file.empty()) {
    inventory_ = executor::DetectLocalMachine();
  } else {
    auto inv = executor::LoadInventoryFile(config_.inventory_file);
    if (!inv) return inv.error();
    inventory_ = std::move(*inv);
  }
  auto sched = core::Scheduler::Create(config_.scheduler);
  if (!sched) return sched.error();
  scheduler_ = std::make_unique<core::Scheduler>(std::move(*sched));
  executor_ = std::make_unique<executor::LocalExecutor>(
      executor::ExecutorConfig{config_.shim_binary, config_.use_cgroups});

  auto st = store::Store::Open(config_.data_dir + "/kumo.db");
  if (!st) return st.error();
  store_ = std::move(*st);
  job_store_ = std::make_unique<JobStore>(*store_);
  if (Status s = Restore(); !s.ok()) return s;

  // First start: an admin user whose token is written where only the operator can read it
  // (like k3s's kubeconfig), and a default project so a fresh server takes jobs at once.
  admin_token_path_ = config_.data_dir + "/admin.token";
  {
    std::lock_guard<std::mutex> lock(mu_);
    double now = SystemClock().NowSeconds();
    if (users_.empty()) {
      users_["admin"] = UserRec{"admin", true, {}};
      pending_writes_.push_back(
          {"INSERT INTO users(name, admin, created_at) VALUES('admin', 1, ?1)", {now}});
      if (!projects_.count("default")) {
        projects_["default"] = ProjectRec{"default", 1, 0, -1};
        pending_writes_.push_back(
            {"INSERT INTO projects(name, weight, guaranteed_gpu_milli, max_gpu_milli, created_at) "
             "VALUES('default', 1, 0, NULL, ?1)",
             {now}});
      }
      std::string token = CreateToken("admin", now);
      std::string tmp = admin_token_path_ + ".tmp";
      int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd < 0) return Status::FailedPrecondition("cannot write " + tmp);
      std::string line = token + "\n";
      bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
      ok = ::fsync(fd) == 0 && ok;
      ::close(fd);
      if (!ok || ::rename(tmp.c_str(), admin_token_path_.c_str()) != 0)
        return Status::FailedPrecondition("cannot write " + admin_token_path_);
    }
    Status s = Flush().get();
    if (!s.ok()) return s;
  }
  Reconcile();

  auto hp = http::ParseHostPort(config_.listen);
  if (!hp) return hp.error();
  http::ServerOptions opts;
  opts.host = hp->first;
  opts.port = hp->second;
  auto h = http::Server::Start(opts, [this](const http::Request& r) { return Handle(r); });
  if (!h) return h.error();
  http_ = std::move(*h);
  loop_ = std::thread([this] { Loop(); });
  // Task exits wake the loop at once instead of at its next tick (bounded wait: Stop joins it).
  exit_watcher_ = std::thread([this] {
    for (;;) {
      std::vector<pid_t> ended = executor_->WaitForExits(100);
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      if (ended.empty()) continue;
      exited_pids_.insert(ended.begin(), ended.end());
      Kick();
    }
  });
  return Status::Ok();
}

// ---- persistence ----

std::future<Status> Server::Flush(bool barrier) {
  std::vector<store::Statement> w;
  w.swap(pending_writes_);
  // Writes commit in queue order, so an empty write is ready only once everything queued before
  // it (e.g. the loop's last flush, perhaps still committing) has committed.
  if (barrier) return store_->Write(std::move(w));
  if (w.empty()) {
    std::promise<Status> p;
    p.set_value(Status::Ok());
    return p.get_future();
  }
  return store_->Write(std::move(w));
}

void Server::SaveJob(const JobRec& j) { pending_writes_.push_back(JobStore::Update(j)); }

void Server::SaveTasks(const JobRec& j) {
  for (store::Statement& s : JobStore::SaveTasks(j)) pending_writes_.push_back(std::move(s));
}

void Server::AddEvent(const JobRec* job, const std::string& object, const std::string& type,
                      const std::string& reason, const std::string& message, double now) {
  pending_writes_.push_back(JobStore::AddEvent(
      now, job ? std::optional<int64_t>(job->id) : std::nullopt, object, type, reason, message));
}

// ---- restart ----

Status Server::Restore() {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = store_->Query(
      "SELECT name, weight, guaranteed_gpu_milli, max_gpu_milli FROM projects", {},
      [&](const store::Row& r) {
        ProjectRec p{store::AsString(r[0]), store::AsDouble(r[1]), store::AsInt(r[2]),
                     std::holds_alternative<std::nullptr_t>(r[3]) ? -1 : store::AsInt(r[3])};
        projects_[p.name] = p;
      });
  if (!s.ok()) return s;
  s = store_->Query("SELECT name, admin FROM users", {}, [&](const store::Row& r) {
    users_[store::AsString(r[0])] = UserRec{store::AsString(r[0]), store::AsInt(r[1]) != 0, {}};
  });
  if (!s.ok()) return s;
  s = store_->Query("SELECT user, project FROM memberships", {}, [&](const store::Row& r) {
    users_[store::AsString(r[0])].projects.insert(store::AsString(r[1]));
  });
  if (!s.ok()) return s;
  s = store_->Query("SELECT sha256, user FROM tokens", {}, [&](const store::Row& r) {
    tokens_[store::AsString(r[0])] = store::AsString(r[1]);
  });
  if (!s.ok()) return s;
  s = store_->Query(
      "SELECT name, reason FROM nodes WHERE cordoned=1", {},
      [&](const store::Row& r) { cordoned_[store::AsString(r[0])] = store::AsString(r[1]); });
  if (!s.ok()) return s;
  auto jobs = job_store_->Load();
  if (!jobs) return jobs.error();
  for (auto& [id, j] : *jobs) {
    if (!j.idempotency_key.empty()) idempotency_[j.idempotency_key] = id;
    next_job_id_ = std::max(next_job_id_, id + 1);
  }
  jobs_ = std::move(*jobs);
  return Status::Ok();
}

void Server::Reconcile() {
  // Every shim on this machine whose run dir is under our data dir, by run dir.
  std::map<std::string, std::pair<pid_t, int64_t>> shims = FindShims(config_.data_dir + "/jobs/");
  std::lock_guard<std::mutex> lock(mu_);
  double now = SystemClock().NowSeconds();
  std::set<std::string> claimed;
  for (auto& [id, job] : jobs_) {
    if (!HasAttempt(job.phase)) continue;
    int adopted = 0, lost = 0;
    for (TaskRec& t : job.tasks) {
      if (t.state != TaskState::kRunning) continue;
      auto it = shims.find(t.handle.run_dir);
      if (t.handle.pid == 0 && it != shims.end()) {
        t.handle.pid = it->second.first;  // launched, but its pid had not committed
        t.handle.start_ticks = it->second.second;
      }
      claimed.insert(t.handle.run_dir);
      executor::TaskStatus st = executor_->Poll(t.handle);
      if (st.state == executor::TaskState::kRunning) {
        ++adopted;
        executor_->Watch(t.handle);
      } else if (st.state == executor::TaskState::kExited) {
        t.state = TaskState::kExited;
        t.exit_code = st.exit_code;
        t.term_signal = st.term_signal;
      } else {
        t.state = TaskState::kLost;
        ++lost;
      }
    }
    if (job.tasks.empty()) {
      // The job was marked running but none of its tasks were recorded: the attempt is lost.
      FinishAttempt(job, now, "Lost", "the server stopped while starting this attempt");
      continue;
    }
    AddEvent(&job, "job/" + std::to_string(id), "Reconciled", adopted ? "Adopted" : "NotRunning",
             std::to_string(adopted) + " task(s) still running adopted, " + std::to_string(lost) +
                 " lost",
             now);
    SaveTasks(job);
  }
  // Shims started just before a crash whose start never committed: nobody will ever wait for
  // them, so they are killed (their job is still Pending and starts again).
  for (const auto& [run_dir, pid] : shims) {
    if (claimed.count(run_dir)) continue;
    executor::TaskHandle h;
    h.pid = pid.first;
    h.start_ticks = pid.second;
    h.run_dir = run_dir;
    executor_->Signal(h, SIGKILL);
  }
  Flush().wait();
}

}  // namespace kumo::server
