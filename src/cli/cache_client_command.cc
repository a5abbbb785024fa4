#include "cli/cache_client_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "base/flags.h"
#include "cache/client/client.h"
#include "cache/storage/content_hash.h"

namespace kumo::cli {

using cache::CacheClient;
using cache::ClientOptions;
using cache::ContentHasher;
using cache::Hex64;
using cache::ObjectStat;
using cache::PutResult;

const char kCacheClientUsage[] =
    "       kumo cache put BUCKET/KEY FILE          (FILE \"-\" reads stdin)\n"
    "       kumo cache get BUCKET/KEY [-o FILE]     (stdout by default)\n"
    "       kumo cache stat BUCKET/KEY              (size, etag, owner node)\n"
    "       kumo cache rm BUCKET/KEY\n"
    "       kumo cache warm DIR BUCKET[/PREFIX] [--parallel N] [--force]\n"
    "         common: --server HOST:PORT[,...] | --members FILE, --token-file F, --timeout-s N\n"
    "         (env KUMO_CACHE_SERVER, KUMO_CACHE_MEMBERS, KUMO_CACHE_TOKEN_FILE)\n";

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

struct CommandLine {
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;  // the flags given, by name ("true" for --force)
};

// The flags that take a value: their names (CLI11 syntax) and help.
struct ValuedFlag {
  const char* names;
  const char* help;
};
const ValuedFlag kValuedFlags[] = {
    {"--server", "HOST:PORT[,HOST:PORT...] of cache servers (env KUMO_CACHE_SERVER)"},
    {"--members", "member file: each object goes to its owner (env KUMO_CACHE_MEMBERS)"},
    {"--token-file", "bearer token, re-read when it changes (env KUMO_CACHE_TOKEN_FILE)"},
    {"--timeout-s", "I/O timeout in seconds, 1..86400"},
    {"-o,--output", "get: write the object here (default stdout)"},
    {"--parallel", "warm: uploads at once, 1..256 (default 4)"},
};

// Flags may come before, between or after the positional arguments; "--name=value" or
// "--name value"; "-o" is "--output". Returns the exit code when the command should not run
// (--help, a usage error).
std::optional<int> ParseCommandLine(const std::vector<std::string>& args, CommandLine* cl) {
  const std::string& command = args.at(0);
  CLI::App app("kumo cache " + command + ": the cache's client (docs/cache.md)",
               "kumo cache " + command);
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  std::vector<std::string> values(std::size(kValuedFlags));
  std::vector<CLI::Option*> options;
  for (size_t i = 0; i < values.size(); ++i)
    options.push_back(app.add_option(kValuedFlags[i].names, values[i], kValuedFlags[i].help));
  bool force = false;
  app.add_flag("--force", force, "warm: upload even the files the cache holds already");
  app.add_option("args", cl->positional, "BUCKET/KEY, FILE, DIR (see kumo cache --help)");
  if (std::optional<int> exit = ParseFlags(app, {args.begin() + 1, args.end()})) return exit;
  for (size_t i = 0; i < values.size(); ++i)
    if (options[i]->count() > 0) cl->flags[options[i]->get_name().substr(2)] = values[i];
  if (force) cl->flags["force"] = "true";
  return std::nullopt;
}

int Usage(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "kumo cache %s: %s\nusage:\n%s", command.c_str(), message.c_str(),
               kCacheClientUsage);
  return kExitUsage;
}

// "BUCKET/KEY" → (bucket, key); both parts non-empty.
std::optional<std::pair<std::string, std::string>> SplitObjectName(const std::string& s) {
  size_t slash = s.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == s.size()) return std::nullopt;
  return std::make_pair(s.substr(0, slash), s.substr(slash + 1));
}

std::string FlagOrEnv(const CommandLine& cl, const char* flag, const char* env) {
  if (auto it = cl.flags.find(flag); it != cl.flags.end()) return it->second;
  const char* v = std::getenv(env);
  return v != nullptr ? v : "";
}

// The client from the common flags; nullopt after printing why (usage or bad config).
std::unique_ptr<CacheClient> MakeClient(const std::string& command, const CommandLine& cl,
                                        int* exit_code) {
  ClientOptions o;
  std::string server = FlagOrEnv(cl, "server", "KUMO_CACHE_SERVER");
  o.members_file = FlagOrEnv(cl, "members", "KUMO_CACHE_MEMBERS");
  o.token_file = FlagOrEnv(cl, "token-file", "KUMO_CACHE_TOKEN_FILE");
  for (size_t start = 0; !server.empty() && start <= server.size();) {
    size_t comma = server.find(',', start);
    std::string one = server.substr(start, comma == std::string::npos ? comma : comma - start);
    if (!one.empty()) o.servers.push_back(one);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (o.servers.empty() && o.members_file.empty()) {
    *exit_code = Usage(command, "no server: give --server HOST:PORT or --members FILE (or set "
                                "KUMO_CACHE_SERVER)");
    return nullptr;
  }
  if (auto it = cl.flags.find("timeout-s"); it != cl.flags.end()) {
    int s = std::atoi(it->second.c_str());
    if (s <= 0 || s > 86400) {
      *exit_code = Usage(command, "--timeout-s wants 1..86400");
      return nullptr;
    }
    o.io_timeout_ms = s * 1000;
  }
  Result<std::unique_ptr<CacheClient>> c = CacheClient::Create(std::move(o));
  if (!c) {
    *exit_code = Usage(command, c.error().message());
    return nullptr;
  }
  return std::move(*c);
}

int Failed(const std::string& command, const std::string& object, const Status& s) {
  std::fprintf(stderr, "kumo cache %s: %s: %s\n", command.c_str(), object.c_str(),
               s.message().c_str());
  return kExitFailed;
}

std::string FormatBytes(uint64_t n) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, kUnits[u]);
  return buf;
}

// The server's ETag of a local file: quoted XXH64 of its bytes (docs/cache.md), streamed.
std::optional<std::string> LocalEtag(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  ContentHasher h;
  std::string buf(256 * 1024, '\0');
  while (true) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    h.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  close(fd);
  return "\"" + Hex64(h.Digest()) + "\"";
}

int Put(CacheClient& client, const CommandLine& cl) {
  if (cl.positional.size() != 2) return Usage("put", "want BUCKET/KEY FILE");
  auto name = SplitObjectName(cl.positional[0]);
  if (!name) return Usage("put", "want BUCKET/KEY, got \"" + cl.positional[0] + "\"");
  uint64_t size = 0;
  Result<PutResult> r = [&]() -> Result<PutResult> {
    if (cl.positional[1] != "-") {
      std::error_code ec;
      size = std::filesystem::file_size(cl.positional[1], ec);
      return client.PutFile(name->first, name->second, cl.positional[1]);
    }
    // stdin has no size to announce up front: streamed with the chunked coding.
    Result<PutResult> streamed = client.PutStream(name->first, name->second, STDIN_FILENO);
    if (streamed) size = streamed->size_bytes;
    return streamed;
  }();
  if (!r) return Failed("put", cl.positional[0], r.error());
  std::printf("%s: %llu bytes, etag %s\n", cl.positional[0].c_str(),
              static_cast<unsigned long long>(size), r->etag.c_str());
  return kExitOk;
}

int Get(CacheClient& client, const CommandLine& cl) {
  if (cl.positional.size() != 1) return Usage("get", "want BUCKET/KEY");
  auto name = SplitObjectName(cl.positional[0]);
  if (!name) return Usage("get", "want BUCKET/KEY, got \"" + cl.positional[0] + "\"");
  auto out = cl.flags.find("output");
  Result<uint64_t> r = out == cl.flags.end() || out->second == "-"
                           ? client.GetToFd(name->first, name->second, STDOUT_FILENO)
                           : client.GetToFile(name->first, name->second, out->second);
  if (!r) return Failed("get", cl.positional[0], r.error());
  return kExitOk;
}

int StatCommand(CacheClient& client, const CommandLine& cl) {
  if (cl.positional.size() != 1) return Usage("stat", "want BUCKET/KEY");
  auto name = SplitObjectName(cl.positional[0]);
  if (!name) return Usage("stat", "want BUCKET/KEY, got \"" + cl.positional[0] + "\"");
  Result<ObjectStat> st = client.Stat(name->first, name->second);
  if (!st) return Failed("stat", cl.positional[0], st.error());
  std::string owner = st->owner.empty() ? st->served_by : st->owner + " (" + st->served_by + ")";
  std::printf("object: %s\nsize: %llu\netag: %s\nowner: %s\n", cl.positional[0].c_str(),
              static_cast<unsigned long long>(st->size_bytes), st->etag.c_str(), owner.c_str());
  return kExitOk;
}

int Remove(CacheClient& client, const CommandLine& cl) {
  if (cl.positional.size() != 1) return Usage("rm", "want BUCKET/KEY");
  auto name = SplitObjectName(cl.positional[0]);
  if (!name) return Usage("rm", "want BUCKET/KEY, got \"" + cl.positional[0] + "\"");
  if (Status s = client.Delete(name->first, name->second); !s.ok())
    return Failed("rm", cl.positional[0], s);
  return kExitOk;
}

struct WarmFile {
  std::string path;
  std::string key;
  uint64_t size_bytes = 0;
};

// Shared by the upload threads and the progress bar; counters only grow.
struct WarmProgress {
  std::atomic<size_t> done{0};
  std::atomic<size_t> uploaded{0};
  std::atomic<size_t> skipped{0};
  std::atomic<uint64_t> bytes_done{0};      // uploaded + skipped
  std::atomic<uint64_t> bytes_uploaded{0};
  std::mutex mu;  // guards failures
  std::vector<std::string> failures;
};

void DrawProgressBar(const WarmProgress& p, size_t total_files, uint64_t total_bytes,
                     double elapsed_s) {
  size_t done = p.done.load();
  uint64_t bytes = p.bytes_done.load();
  double rate_mbs = elapsed_s > 0 ? p.bytes_uploaded.load() / 1e6 / elapsed_s : 0;
  double bytes_per_s = elapsed_s > 0 ? bytes / elapsed_s : 0;
  std::string eta = "--";
  if (bytes_per_s > 0) {
    long s = static_cast<long>((total_bytes - std::min(bytes, total_bytes)) / bytes_per_s);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    eta = buf;
  }
  constexpr int kWidth = 24;
  double fraction = total_bytes > 0 ? static_cast<double>(bytes) / static_cast<double>(total_bytes)
                    : total_files > 0 ? static_cast<double>(done) / static_cast<double>(total_files)
                                      : 1.0;
  int filled = static_cast<int>(fraction * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\r\033[K[%s] %zu/%zu files  %s/%s  %.1f MB/s  ETA %s", bar.c_str(), done,
               total_files, FormatBytes(bytes).c_str(), FormatBytes(total_bytes).c_str(),
               rate_mbs, eta.c_str());
  std::fflush(stderr);
}

// One file: skipped when the cache already holds the same size and ETag (unless `force`),
// uploaded otherwise.
void WarmOne(CacheClient& client, const std::string& bucket, const WarmFile& f, bool force,
             WarmProgress* p) {
  if (!force) {
    Result<ObjectStat> st = client.Stat(bucket, f.key);
    // Only a hit of the same size costs reading the local file for its hash.
    if (st && st->size_bytes == f.size_bytes && LocalEtag(f.path) == st->etag) {
      p->skipped.fetch_add(1);
      p->bytes_done.fetch_add(f.size_bytes);
      p->done.fetch_add(1);
      return;
    }
  }
  Result<PutResult> r = client.PutFile(bucket, f.key, f.path);
  if (r) {
    p->uploaded.fetch_add(1);
    p->bytes_uploaded.fetch_add(f.size_bytes);
  } else {
    std::lock_guard<std::mutex> lock(p->mu);
    p->failures.push_back(f.path + " -> " + bucket + "/" + f.key + ": " + r.error().message());
  }
  p->bytes_done.fetch_add(f.size_bytes);
  p->done.fetch_add(1);
}

// The regular files under `dir`, by key (PREFIX/relative path). Symlinks are neither followed
// nor uploaded: a link out of the tree would publish files the caller did not mean to.
Result<std::vector<WarmFile>> ListWarmFiles(const std::string& dir, const std::string& prefix) {
  std::vector<WarmFile> files;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return Error(Status::NotFound("not a directory"));
  std::filesystem::recursive_directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::filesystem::directory_entry& e = *it;
    if (e.is_symlink(ec) || !e.is_regular_file(ec)) continue;
    std::string rel = e.path().lexically_relative(dir).generic_string();
    files.push_back({e.path().string(), prefix.empty() ? rel : prefix + "/" + rel,
                     e.file_size(ec)});
  }
  if (ec) return Error(Status(StatusCode::kInternal, ec.message()));
  std::sort(files.begin(), files.end(),
            [](const WarmFile& a, const WarmFile& b) { return a.key < b.key; });
  return files;
}

// Uploads `files` on `parallel` threads (a progress bar on a terminal); the seconds it took.
double UploadAll(CacheClient& client, const std::string& bucket, const std::vector<WarmFile>& files,
                 uint64_t total_bytes, bool force, int parallel, WarmProgress* progress) {
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  size_t threads = std::min<size_t>(static_cast<size_t>(parallel), std::max<size_t>(files.size(), 1));
  for (size_t t = 0; t < threads; ++t)
    workers.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < files.size();)
        WarmOne(client, bucket, files[i], force, progress);
    });

  bool tty = isatty(STDERR_FILENO) == 1;
  std::mutex bar_mu;
  std::condition_variable bar_cv;
  bool finished = false;
  std::thread bar;
  if (tty)
    bar = std::thread([&] {
      std::unique_lock<std::mutex> lock(bar_mu);
      while (!finished) {
        DrawProgressBar(*progress, files.size(), total_bytes, elapsed());
        bar_cv.wait_for(lock, std::chrono::milliseconds(200));
      }
    });
  for (std::thread& w : workers) w.join();
  if (tty) {
    {
      std::lock_guard<std::mutex> lock(bar_mu);
      finished = true;
    }
    bar_cv.notify_all();
    bar.join();
    DrawProgressBar(*progress, files.size(), total_bytes, elapsed());
    std::fputs("\n", stderr);
  }
  return elapsed();
}

int Warm(CacheClient& client, const CommandLine& cl) {
  if (cl.positional.size() != 2) return Usage("warm", "want DIR BUCKET[/PREFIX]");
  const std::string& dir = cl.positional[0];
  std::string target = cl.positional[1];
  size_t slash = target.find('/');
  std::string bucket = target.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : target.substr(slash + 1);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (bucket.empty()) return Usage("warm", "want DIR BUCKET[/PREFIX]");
  int parallel = 4;
  if (auto it = cl.flags.find("parallel"); it != cl.flags.end()) {
    parallel = std::atoi(it->second.c_str());
    if (parallel < 1 || parallel > 256) return Usage("warm", "--parallel wants 1..256");
  }
  bool force = cl.flags.count("force") > 0;

  Result<std::vector<WarmFile>> listed = ListWarmFiles(dir, prefix);
  if (!listed) return Failed("warm", dir, listed.error());
  const std::vector<WarmFile>& files = *listed;
  uint64_t total_bytes = 0;
  for (const WarmFile& f : files) total_bytes += f.size_bytes;

  WarmProgress progress;
  double secs = UploadAll(client, bucket, files, total_bytes, force, parallel, &progress);
  std::sort(progress.failures.begin(), progress.failures.end());
  for (const std::string& f : progress.failures)
    std::fprintf(stderr, "kumo cache warm: failed: %s\n", f.c_str());
  std::printf("kumo cache warm: %zu files (%s): %zu uploaded (%s), %zu skipped, %zu failed in "
              "%.1f s (%.1f MB/s)\n",
              files.size(), FormatBytes(total_bytes).c_str(), progress.uploaded.load(),
              FormatBytes(progress.bytes_uploaded.load()).c_str(), progress.skipped.load(),
              progress.failures.size(), secs,
              secs > 0 ? progress.bytes_uploaded.load() / 1e6 / secs : 0.0);
  return progress.failures.empty() ? kExitOk : kExitFailed;
}

}  // namespace

bool IsCacheClientCommand(std::string_view s) {
  return s == "put" || s == "get" || s == "stat" || s == "rm" || s == "warm";
}

int RunCacheClientCommand(const std::vector<std::string>& args) {
  const std::string& command = args.at(0);
  CommandLine cl;
  if (std::optional<int> exit = ParseCommandLine(args, &cl)) return *exit;
  int exit_code = kExitUsage;
  std::unique_ptr<CacheClient> client = MakeClient(command, cl, &exit_code);
  if (client == nullptr) return exit_code;
  if (command == "put") return Put(*client, cl);
  if (command == "get") return Get(*client, cl);
  if (command == "stat") return StatCommand(*client, cl);
  if (command == "rm") return Remove(*client, cl);
  return Warm(*client, cl);
}

}  // namespace kumo::cli
