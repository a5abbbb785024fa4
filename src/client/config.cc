#include "client/config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

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
  c.server = NormalizeServer(c.server);
  return c;
}

Result<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                             const std::vector<FlagDef>& defs) {
  auto find = [&](const std::string& name) -> const FlagDef* {
    for (const auto& d : defs)
      for (const auto& n : d.names)
        if (n == name) return &d;
    return nullptr;
  };
  ParsedArgs out;
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    // "-" alone is a positional (stdin), as is anything after "--".
    if (flags_done || a.size() < 2 || a[0] != '-') {
      out.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      flags_done = true;
      continue;
    }
    std::string name = a, value;
    bool has_value = false;
    if (size_t eq = a.find('='); a.starts_with("--") && eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    const FlagDef* d = find(name);
    // Short flags glued to their value, kubectl style: -ojson.
    if (d == nullptr && !a.starts_with("--") && a.size() > 2) {
      if (const FlagDef* s = find(a.substr(0, 2)); s != nullptr && s->takes_value) {
        d = s;
        value = a.substr(2);
        has_value = true;
      }
    }
    if (d == nullptr) return Error(Status::InvalidArgument("unknown flag \"" + name + "\""));
    const std::string& canonical = d->names.front();
    if (!d->takes_value) {
      if (has_value && value != "true" && value != "false")
        return Error(Status::InvalidArgument(canonical + ": expected true or false"));
      if (has_value && value == "false")
        out.values.erase(canonical);
      else
        out.values[canonical] = "true";
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) return Error(Status::InvalidArgument(canonical + " needs a value"));
      value = args[++i];
    }
    out.values[canonical] = value;  // repeated: the last one wins, as in kubectl
  }
  return out;
}

}  // namespace kumo::client
