#include "client/config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "base/flags.h"
#include "base/yaml_error.h"

namespace kumo::client {
namespace {

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

Result<std::string> ReadTokenFile(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) return Error(Status::NotFound(what + " " + path + ": cannot read"));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = Trim(ss.str());
  if (token.empty()) return Error(Status::InvalidArgument(what + " " + path + ": empty"));
  return token;
}

std::string ExpandHome(const std::string& path, const EnvLookup& env) {
  if (path == "~" || path.starts_with("~/")) {
    if (auto home = env("HOME")) return *home + path.substr(1);
  }
  return path;
}

struct FileConfig {
  std::string path;
  std::optional<std::string> server, token, token_file;
};

Result<std::optional<FileConfig>> LoadConfigFile(const EnvLookup& env) {
  std::string path;
  bool explicit_path = false;
  if (auto p = env("KUMO_CONFIG"); p && !p->empty()) {
    path = ExpandHome(*p, env);
    explicit_path = true;
  } else if (auto home = env("HOME"); home && !home->empty()) {
    path = *home + "/.config/kumo/config.yaml";
  } else {
    return std::optional<FileConfig>();
  }
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (explicit_path)
      return Error(Status::NotFound("config file " + path + " (from KUMO_CONFIG): not found"));
    return std::optional<FileConfig>();
  }
  FileConfig fc;
  fc.path = path;
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (root.IsNull()) return std::optional<FileConfig>(fc);
    if (!root.IsMap()) return Error(YamlError(path, root.Mark(), "", "expected a mapping"));
    for (const auto& kv : root) {
      std::string key = kv.first.as<std::string>();
      if (!kv.second.IsScalar())
        return Error(YamlError(path, kv.second.Mark(), key, "expected a string"));
      std::string value = kv.second.as<std::string>();
      if (key == "server") {
        fc.server = value;
      } else if (key == "token") {
        fc.token = value;
      } else if (key == "tokenFile") {
        fc.token_file = value;
      } else {
        // Strict, so a typo ("tokenfile") is reported instead of silently falling back.
        return Error(YamlError(path, kv.first.Mark(), key,
                               "unknown field (known: server, token, tokenFile)"));
      }
    }
  } catch (const YAML::BadFile&) {
    return Error(Status::NotFound("config file " + path + ": cannot read"));
  } catch (const YAML::Exception& e) {
    return Error(YamlSyntaxError(path, e));
  }
  return std::optional<FileConfig>(fc);
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

std::string NormalizeServer(std::string s) {
  s = Trim(s);
  for (const char* scheme : {"http://", "https://"})
    if (s.starts_with(scheme)) s = s.substr(std::string_view(scheme).size());
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

Result<ClientConfig> ResolveConfig(const ConnectionFlags& flags, const EnvLookup& env) {
  ClientConfig c;
  auto nonempty = [](const std::optional<std::string>& v) { return v && !v->empty(); };
  if (flags.server) {
    c.server = *flags.server;
    c.server_source = "--server";
  } else if (auto v = env("KUMO_SERVER"); nonempty(v)) {
    c.server = *v;
    c.server_source = "KUMO_SERVER";
  }
  if (flags.token) {
    c.token = *flags.token;
    c.token_source = "--token";
  } else if (auto v = env("KUMO_TOKEN"); nonempty(v)) {
    c.token = *v;
    c.token_source = "KUMO_TOKEN";
  } else if (auto f = env("KUMO_TOKEN_FILE"); nonempty(f)) {
    auto t = ReadTokenFile(ExpandHome(*f, env), "KUMO_TOKEN_FILE");
    if (!t) return Error(t.error());
    c.token = *t;
    c.token_source = "KUMO_TOKEN_FILE";
  }
  if (c.server.empty() || c.token_source.empty()) {
    auto file = LoadConfigFile(env);
    if (!file) return Error(file.error());
    if (*file) {
      const FileConfig& fc = **file;
      if (c.server.empty() && nonempty(fc.server)) {
        c.server = *fc.server;
        c.server_source = fc.path;
      }
      if (c.token_source.empty() && nonempty(fc.token)) {
        c.token = *fc.token;
        c.token_source = fc.path;
      } else if (c.token_source.empty() && nonempty(fc.token_file)) {
        std::filesystem::path p = ExpandHome(*fc.token_file, env);
        if (p.is_relative()) p = std::filesystem::path(fc.path).parent_path() / p;
        auto t = ReadTokenFile(p.string(), "tokenFile (" + fc.path + ")");
        if (!t) return Error(t.error());
        c.token = *t;
        c.token_source = fc.path;
      }
    }
  }
  if (c.server.empty()) {
    c.server = kDefaultServer;
    c.server_source = "default";
  }
  // The client speaks plain HTTP: an https:// server would get the token in clear text.
  if (Trim(c.server).starts_with("https://"))
    return Error(Status::InvalidArgument(
        "server \"" + c.server + "\" (from " + c.server_source +
        "): https is not supported by this client; give HOST:PORT of a plain-HTTP listener "
        "(e.g. through an SSH tunnel or a local TLS proxy)"));
  c.server = NormalizeServer(c.server);
  return c;
}

std::optional<int> ParseArgs(CLI::App& app, const std::vector<std::string>& args,
                             const std::vector<FlagDef>& defs, ParsedArgs* out) {
  std::map<std::string, bool> booleans;  // stable addresses for CLI11 to write to
  std::vector<CLI::Option*> options;
  for (const FlagDef& d : defs) {
    std::string names;
    for (const std::string& n : d.names) names += (names.empty() ? "" : ",") + n;
    CLI::Option* o = d.takes_value ? app.add_option(names, d.help)
                                   : app.add_flag(names, booleans[d.names.front()], d.help);
    options.push_back(o->multi_option_policy(CLI::MultiOptionPolicy::TakeLast));
  }
  app.add_option("args", out->positional, "what the command works on");
  if (std::optional<int> exit_code = kumo::ParseFlags(app, args)) return exit_code;
  for (size_t i = 0; i < defs.size(); ++i) {
    const std::string& canonical = defs[i].names.front();
    if (defs[i].takes_value && options[i]->count() > 0)
      out->values[canonical] = options[i]->as<std::string>();
    if (!defs[i].takes_value && booleans[canonical]) out->values[canonical] = "true";
  }
  return std::nullopt;
}

}  // namespace kumo::client
