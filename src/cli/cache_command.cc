#include "cli/cache_command.h"

#include <signal.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include "base/flags.h"
#include "cache/auth/auth.h"
#include "cache/auth/jwks.h"
#include "cache/file_stamp.h"
#include "cache/io/io_backend.h"
#include "cache/routing/maglev.h"
#include "cache/serve_config.h"
#include "cache/server.h"
#include "cache/storage/object_store.h"
#include "cache/storage/origin.h"
#include "cli/cache_client_command.h"

namespace kumo::cli {
namespace {

using namespace kumo::cache;

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

// A flag of `serve` or `token`: its name without "--", what `--config` may give it (serve only)
// and its help line (defaults are applied where the value is read).
struct FlagSpec {
  const char* name;
  ConfigValueKind kind;
  const char* help;
};

// Every `serve` flag; `--config FILE` may set each of them too (serve_config.h maps camelCase
// keys to these names). A new serve flag belongs here, or neither the command line nor the file
// can set it.
const std::vector<FlagSpec> kServeFlags = {
    {"listen", ConfigValueKind::kString, "HOST:PORT to listen on (default 127.0.0.1:8470)"},
    {"dir", ConfigValueKind::kString, "directory of the cache's objects (required)"},
    {"capacity", ConfigValueKind::kSize, "bytes the cache may hold, e.g. 50Gi (required)"},
    {"workers", ConfigValueKind::kCount, "worker threads, 1..256 (default 2)"},
    {"eviction", ConfigValueKind::kString, "lru or s3fifo (default s3fifo)"},
    {"max-object", ConfigValueKind::kSize, "largest object accepted (default: the capacity)"},
    {"sendfile-min", ConfigValueKind::kSize, "bodies from this size go by sendfile (default 64Ki)"},
    {"members", ConfigValueKind::kString, "member file of a cluster (Maglev routing)"},
    {"self", ConfigValueKind::kString, "this node's name in the member file"},
    {"port-file", ConfigValueKind::kString, "write the listening port here once serving"},
    {"auth-secret-file", ConfigValueKind::kString, "HS256 secret"},
    {"jwks", ConfigValueKind::kString, "JWKS file of RS256/ES256 keys (re-read when it changes)"},
    {"acl", ConfigValueKind::kString, "namespace -> bucket ACL (YAML)"},
    {"issuer", ConfigValueKind::kString, "tokens' iss (default kumo)"},
    {"audience", ConfigValueKind::kString, "tokens' aud (default kumo-cache)"},
    {"no-auth", ConfigValueKind::kBool, "serve without authentication"},
    {"origin", ConfigValueKind::kString, "read-through origin directory (DIR/bucket/key)"},
    {"verify-reads", ConfigValueKind::kBool, "check each object's hash on its first read"},
    {"io", ConfigValueKind::kString, "epoll, uring or auto (default epoll)"},
};

const std::vector<FlagSpec> kTokenFlags = {
    {"secret-file", ConfigValueKind::kString, "HS256 secret"},
    {"key", ConfigValueKind::kString, "PEM private key (RS256 or ES256)"},
    {"kid", ConfigValueKind::kString, "key id for the token's header"},
    {"sub", ConfigValueKind::kString, "subject: system:serviceaccount:NS:SA (required)"},
    // Signed: a negative TTL mints a token that has already expired (for expiry tests).
    {"ttl-s", ConfigValueKind::kString, "seconds until the token expires (default 3600)"},
    {"issuer", ConfigValueKind::kString, "iss (default kumo)"},
    {"audience", ConfigValueKind::kString, "aud (default kumo-cache)"},
};

// The flags given, by name ("true" for a boolean flag); absent when not given.
using FlagValues = std::map<std::string, std::string>;

// Parses `args` with CLI11 against `specs` (and --config FILE when `config` is not null).
// Returns the exit code when the command should not run (help, usage error).
std::optional<int> ParseCommandFlags(const std::string& command, const std::vector<FlagSpec>& specs,
                                     const std::vector<std::string>& args, FlagValues* values,
                                     std::string* config) {
  CLI::App app("kumo cache " + command + ": see docs/cache.md", "kumo cache " + command);
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  std::map<std::string, std::string> strings;
  std::map<std::string, bool> booleans;
  std::vector<std::pair<std::string, CLI::Option*>> options;
  for (const FlagSpec& f : specs) {
    std::string name = "--" + std::string(f.name);
    if (f.kind == ConfigValueKind::kBool) {
      options.emplace_back(f.name, app.add_flag(name, booleans[f.name], f.help));
      continue;
    }
    CLI::Option* o = app.add_option(name, strings[f.name], f.help);
    o->type_name(f.kind == ConfigValueKind::kSize    ? "SIZE"
                 : f.kind == ConfigValueKind::kCount ? "N"
                                                     : "TEXT");
    // The same check as a count in --config (serve_config.h), so "--workers 2x" is refused
    // rather than read by atoi as 2.
    if (f.kind == ConfigValueKind::kCount)
      o->check(CLI::Validator(
          [](std::string& v) {
            return IsCount(v) ? std::string() : "\"" + v + "\" is not a count";
          },
          ""));
    options.emplace_back(f.name, o);
  }
  if (config != nullptr)
    app.add_option("--config", *config, "YAML file of the same settings (the flags win)");
  if (std::optional<int> exit = ParseFlags(app, args)) return exit;
  for (auto& [name, option] : options) {
    if (option->count() == 0) continue;
    (*values)[name] = booleans.count(name) ? "true" : strings[name];
  }
  return std::nullopt;
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

std::string Get(const FlagValues& f, const char* name, const char* fallback = "") {
  auto it = f.find(name);
  return it == f.end() ? std::string(fallback) : it->second;
}

// --listen, --workers, --sendfile-min and --io (probing io_uring once: `probe` says what it
// found, for the start-up line).
Result<ServerOptions> ServerOptionsFrom(const FlagValues& f, UringProbe* probe) {
  std::string listen = Get(f, "listen", "127.0.0.1:8470");
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Error(Status::InvalidArgument("--listen wants HOST:PORT"));
  std::string port = listen.substr(colon + 1);
  if (!IsCount(port) || std::atoi(port.c_str()) > 65535)
    return Error(Status::InvalidArgument("--listen wants HOST:PORT with a port 0..65535, not \"" +
                                         listen + "\""));
  ServerOptions so;
  so.host = listen.substr(0, colon);
  so.port = static_cast<uint16_t>(std::atoi(port.c_str()));
  so.workers = std::atoi(Get(f, "workers", "2").c_str());
  if (so.workers < 1 || so.workers > 256)
    return Error(Status::InvalidArgument("--workers wants 1..256"));
  std::optional<uint64_t> sendfile_min = ParseByteSize(Get(f, "sendfile-min", "64Ki"));
  if (!sendfile_min) return Error(Status::InvalidArgument("bad --sendfile-min"));
  so.sendfile_min_bytes = *sendfile_min;
  // epoll by default: io_uring did not win the measurement (docs/cache.md, "I/O backends").
  Result<IoChoice> io_choice = ParseIoChoice(Get(f, "io", "epoll"));
  if (!io_choice) return Error(io_choice.error());
  *probe = ProbeUring();
  std::string io_note;
  Result<IoBackend> io = ChooseIoBackend(*io_choice, *probe, &io_note);
  if (!io) return Error(io.error());
  if (!io_note.empty()) std::fprintf(stderr, "kumo cache: %s\n", io_note.c_str());
  so.io = *io;
  return so;
}

// --dir, --capacity, --max-object, --eviction, --verify-reads.
Result<StoreOptions> StoreOptionsFrom(const FlagValues& f) {
  StoreOptions st;
  st.dir = Get(f, "dir");
  if (st.dir.empty()) return Error(Status::InvalidArgument("--dir is required"));
  std::optional<uint64_t> capacity = ParseByteSize(Get(f, "capacity"));
  if (!capacity || *capacity == 0)
    return Error(Status::InvalidArgument("--capacity wants a size such as 50Gi"));
  st.capacity_bytes = *capacity;
  if (f.count("max-object")) {
    std::optional<uint64_t> m = ParseByteSize(Get(f, "max-object"));
    if (!m) return Error(Status::InvalidArgument("bad --max-object"));
    st.max_object_bytes = *m;
  }
  st.eviction = Get(f, "eviction", "s3fifo");
  st.verify_reads = f.count("verify-reads") > 0;
  return st;
}

// What --auth-secret-file, --jwks, --acl, --issuer, --audience and --no-auth make: no
// authenticator with --no-auth; the JWKS file is kept to be re-read when it changes.
struct AuthSetup {
  std::optional<Authenticator> auth;
  std::optional<JwksFile> jwks_file;
  std::string mode;  // for the start-up line: "off", "HS256", "HS256 + RS256/ES256 (...)"
};

Status AddJwks(const std::string& path, bool has_secret, AuthOptions* ao, AuthSetup* setup) {
  Result<JwksFile> jwks = JwksFile::Open(path);
  if (!jwks) return jwks.error();
  for (const std::string& why : jwks->keys()->skipped())
    std::fprintf(stderr, "kumo cache: --jwks: skipped %s\n", why.c_str());
  ao->jwks = jwks->keys();
  setup->mode += std::string(has_secret ? " + " : "") + "RS256/ES256 (JWKS keys: " +
                 std::to_string(ao->jwks->size()) + ")";
  setup->jwks_file = std::move(*jwks);
  return Status::Ok();
}

Result<AuthSetup> AuthFrom(const FlagValues& f) {
  bool no_auth = f.count("no-auth") > 0;
  bool has_secret = f.count("auth-secret-file") > 0;
  if (no_auth == (has_secret || f.count("jwks") > 0))
    return Error(Status::InvalidArgument(
        "give --auth-secret-file F and/or --jwks FILE (with --acl FILE), or --no-auth"));
  AuthSetup setup;
  setup.mode = no_auth ? "off" : has_secret ? "HS256" : "";
  if (no_auth) return setup;
  AuthOptions ao;
  if (has_secret) {
    std::optional<std::string> secret = ReadFile(Get(f, "auth-secret-file"));
    if (!secret)
      return Error(Status::NotFound("cannot read --auth-secret-file " + Get(f, "auth-secret-file")));
    ao.secret = TrimNewlines(*secret);
  }
  if (f.count("jwks"))
    if (Status s = AddJwks(Get(f, "jwks"), has_secret, &ao, &setup); !s.ok()) return Error(s);
  std::optional<std::string> acl = ReadFile(Get(f, "acl"));
  if (!acl) return Error(Status::NotFound("cannot read --acl " + Get(f, "acl")));
  ao.issuer = Get(f, "issuer", "kumo");
  ao.audience = Get(f, "audience", "kumo-cache");
  Result<Authenticator> a = Authenticator::Load(ao, *acl);
  if (!a) return Error(a.error());
  setup.auth = std::move(*a);
  return setup;
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

// --members FILE --self NAME: the router and the file it follows. The file must parse at start
// (a typo fails fast); later a bad file is reported and the previous table kept.
class MemberWatch {
 public:
  // Without --members there is nothing to watch (and no router).
  Status Start(const FlagValues& f) {
    path_ = Get(f, "members");
    self_ = Get(f, "self");
    if (path_.empty()) {
      if (!self_.empty()) return Status::InvalidArgument("--self needs --members FILE");
      return Status::Ok();
    }
    if (self_.empty())
      return Status::InvalidArgument("--members needs --self NAME (this node's name in the file)");
    stamp_ = StampOf(path_);
    Result<std::shared_ptr<const ClusterView>> v = LoadCluster(path_, self_, ++generation_);
    if (!v) return v.error();
    LogCluster(**v, self_);
    router_.Swap(std::move(*v));
    return Status::Ok();
  }

  MaglevRouter* router() { return path_.empty() ? nullptr : &router_; }

  // Re-reads the file when it changed, or on SIGHUP (`force`).
  void Poll(bool force) {
    if (path_.empty()) return;
    FileStamp now = StampOf(path_);
    if (!force && now == stamp_) return;
    stamp_ = now;
    Result<std::shared_ptr<const ClusterView>> v = LoadCluster(path_, self_, generation_ + 1);
    if (!v) {
      std::fprintf(stderr, "kumo cache: member list not reloaded, keeping %llu: %s\n",
                   static_cast<unsigned long long>(generation_), v.error().message().c_str());
      return;
    }
    ++generation_;
    LogCluster(**v, self_);
    router_.Swap(std::move(*v));
  }

 private:
  std::string path_, self_;
  MaglevRouter router_;
  uint64_t generation_ = 0;
  FileStamp stamp_;
};

// A JWKS file that does not parse keeps the previous keys: a half-written rotation must not
// lock every client out.
void PollJwks(AuthSetup& auth, bool force) {
  if (!auth.jwks_file) return;
  auto reread = auth.jwks_file->Poll(force);
  if (reread && *reread) {
    auth.auth->ReplaceJwks(**reread);
    std::fprintf(stderr, "kumo cache: --jwks re-read: %zu keys\n", (**reread)->size());
  } else if (reread) {
    std::fprintf(stderr, "kumo cache: --jwks not reloaded, keeping the previous keys: %s\n",
                 reread->error().message().c_str());
  }
}

// Written then renamed: a reader never sees a partial number.
Status WritePortFile(const std::string& path, uint16_t port) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream pf(tmp, std::ios::trunc);
    pf << port << "\n";
    if (!pf) return Status::IoError("cannot write --port-file " + path);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return Status::IoError("cannot write --port-file " + path);
  return Status::Ok();
}

// Resident objects keep their files open: take the descriptors the hard limit allows.
void RaiseFileLimit(StoreOptions* st) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  st->max_open_files = static_cast<size_t>(rl.rlim_cur) * 3 / 4;
}

// Blocks the stop and reload signals (before the workers start, so only sigtimedwait sees
// them) and ignores SIGPIPE.
sigset_t BlockServeSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return signals;
}

// Until SIGINT or SIGTERM: once a second (and on SIGHUP) re-reads the JWKS and member files.
void ServeUntilStopped(const sigset_t& signals, AuthSetup& auth, MemberWatch& members) {
  while (true) {
    timespec one_second{1, 0};
    int sig = sigtimedwait(&signals, nullptr, &one_second);
    if (sig == SIGINT || sig == SIGTERM) return;
    PollJwks(auth, sig == SIGHUP);
    members.Poll(sig == SIGHUP);
  }
}

void PrintListening(const ServerOptions& so, const CacheServer& server, const ObjectStore& store,
                    const StoreOptions& st, const AuthSetup& auth, const UringProbe& probe) {
  std::printf(
      "kumo cache: listening on %s:%u (%d workers, eviction %s, capacity %llu bytes, "
      "%zu objects, auth %s, io %s; io_uring probe: %s)\n",
      so.host.c_str(), server.port(), so.workers, std::string(store.eviction_policy()).c_str(),
      static_cast<unsigned long long>(st.capacity_bytes), store.object_count(),
      auth.mode.c_str(), IoBackendName(so.io), probe.detail.c_str());
  std::fflush(stdout);
}

int Serve(const FlagValues& f) {
  UringProbe probe;
  Result<ServerOptions> so = ServerOptionsFrom(f, &probe);
  if (!so) return Fail(so.error().message());
  Result<StoreOptions> st = StoreOptionsFrom(f);
  if (!st) return Fail(st.error().message());
  Result<AuthSetup> auth = AuthFrom(f);
  if (!auth) return Fail(auth.error().message());
  RaiseFileLimit(&*st);
  Result<std::unique_ptr<ObjectStore>> store = ObjectStore::Open(*st);
  if (!store) return Fail(store.error().message());
  std::unique_ptr<Origin> origin;
  if (f.count("origin")) {
    Result<std::unique_ptr<Origin>> o = Origin::Open(Get(f, "origin"));
    if (!o) return Fail(o.error().message());
    origin = std::move(*o);
    so->origin = origin.get();
  }
  MemberWatch members;
  if (Status s = members.Start(f); !s.ok()) return Fail(s.message());
  so->router = members.router();

  sigset_t signals = BlockServeSignals();
  Result<std::unique_ptr<CacheServer>> server =
      CacheServer::Start(*so, store->get(), auth->auth ? &*auth->auth : nullptr);
  if (!server) return Fail(server.error().message());
  PrintListening(*so, **server, **store, *st, *auth, probe);
  if (std::string port_file = Get(f, "port-file"); !port_file.empty())
    if (Status s = WritePortFile(port_file, (*server)->port()); !s.ok()) return Fail(s.message());
  ServeUntilStopped(signals, *auth, members);
  (*server)->Stop();
  return 0;
}

int Token(const FlagValues& f) {
  if ((f.count("secret-file") > 0) == (f.count("key") > 0))
    return Fail("give --secret-file F (HS256) or --key PEM (RS256/ES256)");
  std::string sub = Get(f, "sub");
  if (sub.empty()) return Fail("--sub is required (system:serviceaccount:NS:SA)");
  std::string ttl = Get(f, "ttl-s", "3600");
  if (!IsCount(ttl.starts_with('-') ? ttl.substr(1) : ttl))
    return Fail("--ttl-s wants whole seconds, e.g. 3600 (negative: already expired), not \"" + ttl +
                "\"");
  int64_t exp_s = static_cast<int64_t>(time(nullptr)) + std::atoll(ttl.c_str());
  std::string issuer = Get(f, "issuer", "kumo"), audience = Get(f, "audience", "kumo-cache");
  if (f.count("key")) {
    std::optional<std::string> pem = ReadFile(Get(f, "key"));
    if (!pem) return Fail("cannot read --key " + Get(f, "key"));
    Result<JwsSigner> signer = JwsSigner::FromPem(*pem);
    if (!signer) return Fail("--key " + Get(f, "key") + ": " + signer.error().message());
    Result<std::string> token =
        MakeSignedToken(*signer, Get(f, "kid"), sub, issuer, audience, exp_s);
    if (!token) return Fail(token.error().message());
    std::printf("%s\n", token->c_str());
    return 0;
  }
  std::optional<std::string> secret = ReadFile(Get(f, "secret-file"));
  if (!secret) return Fail("cannot read --secret-file");
  std::printf("%s\n", MakeHs256Token(TrimNewlines(*secret), sub, issuer, audience, exp_s).c_str());
  return 0;
}

// `serve`'s flags: the command line's, over --config FILE's (checked first, even where the
// command line sets the same flag).
std::optional<int> ServeFlags(const std::vector<std::string>& args, FlagValues* flags) {
  std::string config;
  if (std::optional<int> exit = ParseCommandFlags("serve", kServeFlags, args, flags, &config))
    return exit;
  if (config.empty()) return std::nullopt;
  std::vector<ConfigFlag> known;
  for (const FlagSpec& spec : kServeFlags) known.push_back({spec.name, spec.kind});
  Result<FlagValues> file = LoadConfigFlags(config, known);
  if (!file) return Fail(file.error().message());
  flags->merge(*file);  // keeps the command line's value where both set a flag
  return std::nullopt;
}

}  // namespace

int RunCacheCommand(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kServeUsage, args.empty() ? stderr : stdout);
    std::fputs(kCacheClientUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (IsCacheClientCommand(args[0])) return RunCacheClientCommand(args);
  std::vector<std::string> rest(args.begin() + 1, args.end());
  FlagValues flags;
  if (args[0] == "serve") {
    if (std::optional<int> exit = ServeFlags(rest, &flags)) return *exit;
    return Serve(flags);
  }
  if (args[0] == "token") {
    if (std::optional<int> exit = ParseCommandFlags("token", kTokenFlags, rest, &flags, nullptr))
      return *exit;
    return Token(flags);
  }
  return Fail("unknown subcommand \"" + args[0] + "\"\n" + kServeUsage);
}

}  // namespace kumo::cli
