#include "cache/cache_command.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "base/quantity.h"
#include "cache/auth.h"
#include "cache/client_command.h"
#include "cache/config.h"
#include "cache/io_backend.h"
#include "cache/maglev.h"
#include "cache/origin.h"
#include "cache/server.h"
#include "cache/store.h"

namespace kumo::cache {
namespace {

constexpr const char* kServeUsage =
    "usage: kumo cache serve --listen HOST:PORT --dir DIR --capacity SIZE [--workers N]\n"
    "         [--eviction lru|s3fifo] [--max-object SIZE] [--sendfile-min SIZE]\n"
    "         [--io epoll|uring|auto (default epoll)]\n"
    "         [--members FILE --self NAME] [--port-file FILE]\n"
    "         [--origin DIR] [--verify-reads] [--config FILE (YAML; flags win)]\n"
    "         ([--auth-secret-file F] [--jwks FILE] --acl FILE [--issuer kumo]\n"
    "          [--audience kumo-cache] | --no-auth)\n"
    "       kumo cache token (--secret-file F | --key PEM [--kid ID])\n"
    "         --sub system:serviceaccount:NS:SA [--ttl-s 3600] [--issuer kumo]\n"
    "         [--audience kumo-cache]\n";

// Every `serve` flag, as `--config FILE` may set it (config.h maps camelCase keys to these).
// A new serve flag belongs here too, or the file cannot set it.
const std::vector<ConfigFlag> kServeConfigFlags = {
    {"listen", ConfigValueKind::kString},       {"dir", ConfigValueKind::kString},
    {"capacity", ConfigValueKind::kSize},       {"workers", ConfigValueKind::kCount},
    {"eviction", ConfigValueKind::kString},     {"max-object", ConfigValueKind::kSize},
    {"sendfile-min", ConfigValueKind::kSize},   {"members", ConfigValueKind::kString},
    {"self", ConfigValueKind::kString},         {"port-file", ConfigValueKind::kString},
    {"auth-secret-file", ConfigValueKind::kString}, {"jwks", ConfigValueKind::kString},
    {"acl", ConfigValueKind::kString},          {"issuer", ConfigValueKind::kString},
    {"audience", ConfigValueKind::kString},     {"no-auth", ConfigValueKind::kBool},
    {"origin", ConfigValueKind::kString},       {"verify-reads", ConfigValueKind::kBool},
    {"io", ConfigValueKind::kString},
};

// --flag value pairs plus boolean flags; false on a malformed command line.
bool ParseFlags(const std::vector<std::string>& args, size_t from,
                const std::vector<std::string>& booleans, std::map<std::string, std::string>* out) {
  for (size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!a.starts_with("--")) return false;
    std::string name = a.substr(2);
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      (*out)[name.substr(0, eq)] = name.substr(eq + 1);
      continue;
    }
    bool is_bool = false;
    for (const std::string& b : booleans) is_bool |= b == name;
    if (is_bool) {
      (*out)[name] = "true";
      continue;
    }
    if (i + 1 >= args.size()) return false;
    (*out)[name] = args[++i];
  }
  return true;
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string TrimNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "kumo cache: %s\n", message.c_str());
  return 2;
}

// The member file's identity for the once-a-second poll: a rename (new inode), a write (mtime)
// or a truncation (size) all count as a change.
struct FileStamp {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  int64_t mtime_ns = 0;
  off_t size = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp Stamp(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return {};
  return {true, st.st_dev, st.st_ino, st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec,
          st.st_size};
}

// Reads and parses the member file and builds a Maglev table (§3.4) for it: the control side's
// half of the swap (the workers only Load the view).
Result<std::shared_ptr<const ClusterView>> LoadCluster(const std::string& path,
                                                       const std::string& self,
                                                       uint64_t generation) {
  std::optional<std::string> text = ReadFile(path);
  if (!text) return Error(Status::NotFound("cannot read --members " + path));
  Result<std::vector<Member>> members = ParseMemberList(*text);
  if (!members) return Error(members.error());
  Result<std::shared_ptr<const MaglevTable>> table = MaglevTable::Build(std::move(*members));
  if (!table) return Error(table.error());
  auto view = std::make_shared<ClusterView>();
  view->table = std::move(*table);
  view->self = view->table->IndexOf(self);
  view->generation = generation;
  return std::shared_ptr<const ClusterView>(std::move(view));
}

void LogCluster(const ClusterView& v, const std::string& self) {
  std::string names;
  for (const Member& m : v.table->members()) names += " " + m.name + "=" + m.address;
  std::fprintf(stderr, "kumo cache: member list %llu: %zu members%s%s\n",
               static_cast<unsigned long long>(v.generation), v.table->members().size(),
               names.c_str(),
               v.self < 0 && !v.table->members().empty()
                   ? (" (self " + self + " is not listed: every object is redirected)").c_str()
                   : "");
}

int Serve(const std::map<std::string, std::string>& f) {
  auto get = [&](const char* k, const char* def = "") {
    auto it = f.find(k);
    return it == f.end() ? std::string(def) : it->second;
  };
  std::string listen = get("listen", "127.0.0.1:8470");
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Fail("--listen wants HOST:PORT");
  ServerOptions so;
  so.host = listen.substr(0, colon);
  so.port = static_cast<uint16_t>(std::atoi(listen.c_str() + colon + 1));
  so.workers = std::atoi(get("workers", "2").c_str());
  if (so.workers < 1 || so.workers > 256) return Fail("--workers wants 1..256");
  std::optional<uint64_t> sendfile_min = ParseByteSize(get("sendfile-min", "64Ki"));
  if (!sendfile_min) return Fail("bad --sendfile-min");
  so.sendfile_min_bytes = *sendfile_min;
  // epoll by default: io_uring did not win the measurement (docs/cache.md, "I/O backends").
  Result<IoChoice> io_choice = ParseIoChoice(get("io", "epoll"));
  if (!io_choice) return Fail(io_choice.error().message());
  UringProbe probe = ProbeUring();
  std::string io_note;
  Result<IoBackend> io = ChooseIoBackend(*io_choice, probe, &io_note);
  if (!io) return Fail(io.error().message());
  if (!io_note.empty()) std::fprintf(stderr, "kumo cache: %s\n", io_note.c_str());
  so.io = *io;

  StoreOptions st;
  st.dir = get("dir");
  if (st.dir.empty()) return Fail("--dir is required");
  std::optional<uint64_t> capacity = ParseByteSize(get("capacity"));
  if (!capacity || *capacity == 0) return Fail("--capacity wants a size such as 50Gi");
  st.capacity_bytes = *capacity;
  if (f.count("max-object")) {
    std::optional<uint64_t> m = ParseByteSize(get("max-object"));
    if (!m) return Fail("bad --max-object");
    st.max_object_bytes = *m;
  }
  st.eviction = get("eviction", "s3fifo");
  st.verify_reads = f.count("verify-reads") > 0;

  std::optional<Authenticator> auth;
  std::optional<JwksFile> jwks_file;  // re-read when it changes, like the member file
  bool no_auth = f.count("no-auth") > 0;
  bool has_secret = f.count("auth-secret-file") > 0;
  if (no_auth == (has_secret || f.count("jwks") > 0))
    return Fail("give --auth-secret-file F and/or --jwks FILE (with --acl FILE), or --no-auth");
  std::string auth_mode = no_auth ? "off" : has_secret ? "HS256" : "";
  if (!no_auth) {
    AuthOptions ao;
    if (has_secret) {
      std::optional<std::string> secret = ReadFile(get("auth-secret-file"));
      if (!secret) return Fail("cannot read --auth-secret-file " + get("auth-secret-file"));
      ao.secret = TrimNewlines(*secret);
    }
    if (f.count("jwks")) {
      Result<JwksFile> jwks = JwksFile::Open(get("jwks"));
      if (!jwks) return Fail(jwks.error().message());
      for (const std::string& why : jwks->keys()->skipped())
        std::fprintf(stderr, "kumo cache: --jwks: skipped %s\n", why.c_str());
      ao.jwks = jwks->keys();
      auth_mode += std::string(has_secret ? " + " : "") + "RS256/ES256 (JWKS keys: " +
                   std::to_string(ao.jwks->size()) + ")";
      jwks_file = std::move(*jwks);
    }
    std::optional<std::string> acl = ReadFile(get("acl"));
    if (!acl) return Fail("cannot read --acl " + get("acl"));
    ao.issuer = get("issuer", "kumo");
    ao.audience = get("audience", "kumo-cache");
    Result<Authenticator> a = Authenticator::Load(ao, *acl);
    if (!a) return Fail(a.error().message());
    auth = std::move(*a);
  }

  // Resident objects keep their files open: take the descriptors the hard limit allows.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    st.max_open_files = static_cast<size_t>(rl.rlim_cur) * 3 / 4;
  }
  Result<std::unique_ptr<Store>> store = Store::Open(st);
  if (!store) return Fail(store.error().message());
  std::unique_ptr<Origin> origin;
  if (f.count("origin")) {
    Result<std::unique_ptr<Origin>> o = Origin::Open(get("origin"));
    if (!o) return Fail(o.error().message());
    origin = std::move(*o);
    so.origin = origin.get();
  }

  // Cluster: the member file is required to parse at start (a typo fails fast); later a bad
  // file is reported and the previous table kept.
  std::string members_path = get("members");
  std::string self = get("self");
  MaglevRouter router;
  uint64_t generation = 0;
  FileStamp stamp;
  if (!members_path.empty()) {
    if (self.empty()) return Fail("--members needs --self NAME (this node's name in the file)");
    stamp = Stamp(members_path);
    Result<std::shared_ptr<const ClusterView>> v = LoadCluster(members_path, self, ++generation);
    if (!v) return Fail(v.error().message());
    LogCluster(**v, self);
    router.Swap(std::move(*v));
    so.router = &router;
  } else if (!self.empty()) {
    return Fail("--self needs --members FILE");
  }

  // Block the stop and reload signals before the workers start so only sigtimedwait below sees
  // them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);
  Result<std::unique_ptr<CacheServer>> server =
      CacheServer::Start(so, store->get(), auth ? &*auth : nullptr);
  if (!server) return Fail(server.error().message());
  std::printf(
      "kumo cache: listening on %s:%u (%d workers, eviction %s, capacity %llu bytes, "
      "%zu objects, auth %s, io %s; io_uring probe: %s)\n",
      so.host.c_str(), (*server)->port(), so.workers,
      std::string((*store)->eviction_policy()).c_str(),
      static_cast<unsigned long long>(st.capacity_bytes), (*store)->object_count(),
      auth_mode.c_str(), IoBackendName(so.io), probe.detail.c_str());
  std::fflush(stdout);
  std::string port_file = get("port-file");
  if (!port_file.empty()) {  // written then renamed: a reader never sees a partial number
    std::string tmp = port_file + ".tmp";
    {
      std::ofstream pf(tmp, std::ios::trunc);
      pf << (*server)->port() << "\n";
      if (!pf) return Fail("cannot write --port-file " + port_file);
    }
    if (std::rename(tmp.c_str(), port_file.c_str()) != 0)
      return Fail("cannot write --port-file " + port_file);
  }
  while (true) {
    timespec one_second{1, 0};
    int sig = sigtimedwait(&stop, nullptr, &one_second);
    if (sig == SIGINT || sig == SIGTERM) break;
    if (jwks_file) {
      // A file that does not parse keeps the previous keys: a half-written rotation must not
      // lock every client out.
      auto reread = jwks_file->Poll(sig == SIGHUP);
      if (reread && *reread) {
        auth->ReplaceJwks(**reread);
        std::fprintf(stderr, "kumo cache: --jwks re-read: %zu keys\n", (**reread)->size());
      } else if (reread) {
        std::fprintf(stderr, "kumo cache: --jwks not reloaded, keeping the previous keys: %s\n",
                     reread->error().message().c_str());
      }
    }
    if (members_path.empty()) continue;
    FileStamp now = Stamp(members_path);
    if (sig != SIGHUP && now == stamp) continue;
    stamp = now;
    Result<std::shared_ptr<const ClusterView>> v = LoadCluster(members_path, self, generation + 1);
    if (!v) {
      std::fprintf(stderr, "kumo cache: member list not reloaded, keeping %llu: %s\n",
                   static_cast<unsigned long long>(generation), v.error().message().c_str());
      continue;
    }
    ++generation;
    LogCluster(**v, self);
    router.Swap(std::move(*v));
  }
  (*server)->Stop();
  return 0;
}

int Token(const std::map<std::string, std::string>& f) {
  auto get = [&](const char* k, const char* def = "") {
    auto it = f.find(k);
    return it == f.end() ? std::string(def) : it->second;
  };
  if ((f.count("secret-file") > 0) == (f.count("key") > 0))
    return Fail("give --secret-file F (HS256) or --key PEM (RS256/ES256)");
  std::string sub = get("sub");
  if (sub.empty()) return Fail("--sub is required (system:serviceaccount:NS:SA)");
  int64_t exp_s = static_cast<int64_t>(time(nullptr)) + std::atoll(get("ttl-s", "3600").c_str());
  std::string issuer = get("issuer", "kumo"), audience = get("audience", "kumo-cache");
  if (f.count("key")) {
    std::optional<std::string> pem = ReadFile(get("key"));
    if (!pem) return Fail("cannot read --key " + get("key"));
    Result<JwsSigner> signer = JwsSigner::FromPem(*pem);
    if (!signer) return Fail("--key " + get("key") + ": " + signer.error().message());
    Result<std::string> token = MakeSignedToken(*signer, get("kid"), sub, issuer, audience, exp_s);
    if (!token) return Fail(token.error().message());
    std::printf("%s\n", token->c_str());
    return 0;
  }
  std::optional<std::string> secret = ReadFile(get("secret-file"));
  if (!secret) return Fail("cannot read --secret-file");
  std::printf("%s\n", MakeHs256Token(TrimNewlines(*secret), sub, issuer, audience, exp_s).c_str());
  return 0;
}

}  // namespace

std::optional<uint64_t> ParseByteSize(std::string_view text) {
  // The Kubernetes grammar of base/quantity.h, plus the cache's spellings from before it: "50GiB",
  // "64KiB", "1B" keep their value, and a bare K M G T now means powers of 1000 (it meant powers
  // of 1024). Both warn, once per spelling: a config file is checked, then read again. (Sizes
  // are parsed at start-up, before any thread, so the set needs no lock.)
  static std::set<std::string, std::less<>> warned;
  std::string_view number = text.substr(0, text.find_first_not_of("0123456789."));
  std::string_view unit = text.substr(number.size());
  bool old_binary = unit == "B" || unit == "KiB" || unit == "MiB" || unit == "GiB" || unit == "TiB";
  bool now_decimal = unit == "K" || unit == "M" || unit == "G" || unit == "T";
  std::string kubernetes(text);
  if (old_binary) kubernetes.pop_back();
  if (unit == "K") kubernetes.back() = 'k';
  Result<int64_t> bytes = ParseBytes(kubernetes);
  if (!bytes) return std::nullopt;
  std::string warning;
  if (old_binary) warning = "is deprecated: write " + kubernetes + " (the same size)";
  if (now_decimal) {
    warning = "now means " + std::to_string(*bytes) +
              " bytes (powers of 1000, as in Kubernetes); write " + std::string(number) +
              unit.front() + "i for the size it meant before";
  }
  if (!warning.empty() && warned.insert(std::string(text)).second) {
    std::fprintf(stderr, "kumo cache: size \"%s\" %s\n", std::string(text).c_str(),
                 warning.c_str());
  }
  return static_cast<uint64_t>(*bytes);
}

int RunCacheCommand(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kServeUsage, args.empty() ? stderr : stdout);
    std::fputs(kCacheClientUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (IsCacheClientCommand(args[0])) return RunCacheClientCommand(args);
  std::map<std::string, std::string> flags;
  if (!ParseFlags(args, 1, {"no-auth", "verify-reads"}, &flags)) {
    std::fputs(kServeUsage, stderr);
    return 2;
  }
  if (args[0] == "serve" && flags.count("config")) {
    Result<std::map<std::string, std::string>> file =
        LoadConfigFlags(flags["config"], kServeConfigFlags);
    if (!file) return Fail(file.error().message());
    flags.erase("config");
    flags.merge(*file);  // keeps the command line's value where both set a flag
  }
  if (args[0] == "serve") return Serve(flags);
  if (args[0] == "token") return Token(flags);
  return Fail("unknown subcommand \"" + args[0] + "\"\n" + kServeUsage);
}

}  // namespace kumo::cache
