// JobSpec parsing: a table-driven walk over the YAML tree. Every mapping in the schema is a list
// of FieldRules (key, handler, required); Walk() applies them and reports unknown, duplicate and
// missing keys in one place, so the per-field code below is only about values.
#include "api/job_spec.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "base/path.h"
#include "base/quantity.h"
#include "base/yaml_error.h"

#include <algorithm>
#include <charconv>
#include <csignal>
#include <cstddef>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <span>
#include <type_traits>
#include <utility>

namespace kumo::api {
namespace {

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsLower(c) || IsUpper(c) || IsDigit(c); }

// ============================================================================================
// Numbers

// A plain run of decimal digits as a non-negative int64.
std::optional<int64_t> ParseDigits(std::string_view s) {
  if (s.empty() || !IsDigit(s.front())) return std::nullopt;  // from_chars would take "-1"
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// The job spec's messages say what a field must be, so the parser's own message is not needed.
std::optional<int64_t> Value(const Result<int64_t>& r) {
  if (!r) return std::nullopt;
  return *r;
}

// ============================================================================================
// Names and paths

bool IsDnsLabel(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  return std::ranges::all_of(s, [](char c) { return IsLower(c) || IsDigit(c) || c == '-'; });
}

// DNS subdomain: dot-separated DNS labels, at most 253 characters (a label key's prefix).
bool IsDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (size_t start = 0;;) {
    size_t dot = s.find('.', start);
    if (!IsDnsLabel(s.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// Kubernetes label value / name part: <= 63 of [A-Za-z0-9._-], alphanumeric at both ends.
bool IsLabelName(std::string_view s, bool allow_empty) {
  if (s.empty()) return allow_empty;
  if (s.size() > 63 || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::ranges::all_of(s,
                             [](char c) { return IsAlnum(c) || c == '.' || c == '_' || c == '-'; });
}

bool IsLabelKey(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return IsLabelName(s, false);
  return IsDnsSubdomain(s.substr(0, slash)) && IsLabelName(s.substr(slash + 1), false);
}

bool IsReservedEnv(std::string_view name) {
  // The executor sets these for every task (torch.distributed rendezvous, GPU assignment);
  // a user value would silently break the gang.
  static constexpr std::string_view kReserved[] = {
      "RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "CUDA_VISIBLE_DEVICES"};
  return name.starts_with("KUMO_") || std::ranges::find(kReserved, name) != std::end(kReserved);
}

bool IsEnvName(std::string_view s) {
  if (s.empty() || IsDigit(s.front())) return false;
  return std::ranges::all_of(s, [](char c) { return IsAlnum(c) || c == '_'; });
}

// ============================================================================================
// The walker

std::string Quote(std::string_view s) {
  // Long values would drown the message; the line number points at the rest.
  constexpr size_t kMax = 60;
  std::string out = "\"";
  out.append(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  return out + "\"";
}

std::string KindOf(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return Quote(n.Scalar());
    default:
      return "null";
  }
}

// A node with where it is: its path for messages ("spec.taskGroups[0].env") and 1-based line.
struct At {
  YAML::Node node;
  std::string path;
  int line = 1;
};

// yaml-cpp marks implicit nulls with -1 (and sometimes the next token's line); fall back to the
// enclosing node's line then.
int LineOf(const YAML::Node& n, int fallback) {
  int line = n.Mark().line;
  return line >= 0 ? line + 1 : fallback;
}

At Child(const At& parent, std::string_view key, const YAML::Node& node, int line) {
  std::string path = parent.path.empty() ? std::string(key) : parent.path + "." + std::string(key);
  return {node, std::move(path), line};
}

At Item(const At& parent, size_t index, const YAML::Node& node) {
  return {node, parent.path + "[" + std::to_string(index) + "]", LineOf(node, parent.line)};
}

// The job spec comes in an HTTP body: "line N: path: message" (base/yaml_error.h).
Status Fail(const At& at, std::string_view message) {
  return YamlError("", at.line, at.path, message);
}

Status DocumentError(int line, std::string_view message) {
  return YamlError("", line, "", message);
}

Status TypeError(const At& at, std::string_view expected) {
  return Fail(at, "must be " + std::string(expected) + " (got " + KindOf(at.node) + ")");
}

// Quoted and !!str scalars are strings by the author's choice: not numbers.
bool IsExplicitString(const YAML::Node& n) {
  return n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str";
}

Result<std::string> ScalarText(const At& at, std::string_view expected) {
  if (!at.node.IsScalar()) return Error(TypeError(at, expected));
  return at.node.Scalar();
}

template <typename T>
Result<T> ParseInteger(const At& at, T min, T max) {
  constexpr std::string_view kExpected =
      std::is_signed_v<T> ? "an integer" : "a non-negative integer";
  Result<std::string> text = ScalarText(at, kExpected);
  if (!text) return Error(text.error());
  if (IsExplicitString(at.node)) {
    return Error(
        Fail(at, "must be " + std::string(kExpected) + ", not the string " + Quote(*text)));
  }
  T v{};
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  bool whole = end == text->data() + text->size();
  if (ec == std::errc::result_out_of_range && whole) v = text->starts_with('-') ? min : max;
  if ((ec != std::errc{} && ec != std::errc::result_out_of_range) || !whole) {
    return Error(TypeError(at, kExpected));
  }
  if (ec == std::errc::result_out_of_range || v < min || v > max) {
    return Error(Fail(at, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                              " (got " + *text + ")"));
  }
  return v;
}

using Handler = std::function<Status(const At&)>;
// An error message when the text is invalid, nullopt when it is fine.
using Check = std::function<std::optional<std::string>(std::string_view)>;

struct FieldRule {
  std::string_view key;
  Handler handle;
  bool required = false;
};

// The fields a Walk() found (non-null), for checks that span fields.
using Seen = std::map<std::string_view, At>;

template <typename T>
struct ValueOf {
  using type = T;
};
template <typename T>
struct ValueOf<std::optional<T>> {
  using type = T;
};

class SpecParser {
 public:
  Result<JobSpec> Parse(const YAML::Node& root);

 private:
  // Calls visit(key, value) for each entry of a mapping, rejecting non-string and duplicate keys.
  Status Entries(const At& at, const std::function<Status(const std::string&, const At&)>& visit);
  Status Walk(const At& at, std::span<const FieldRule> rules, Seen* seen = nullptr);
  Status Items(const At& at, const std::function<Status(const At&)>& visit);
  Status Spend(const At& at);

  Handler Str(std::string* out, Check check = {});
  Handler StrList(std::vector<std::string>* out, Check check = {}, bool non_empty = false);
  Handler StrMap(std::map<std::string, std::string>* out, Check key_check, Check value_check);
  template <typename T>
  Handler Int(T* out, int64_t min, int64_t max);
  template <typename T>
  Handler Quantity(T* out, std::optional<int64_t> (*parse)(std::string_view), int64_t min,
                   int64_t max, std::string what);
  Handler Map(Status (SpecParser::*section)(const At&)) {
    return [this, section](const At& at) { return (this->*section)(at); };
  }

  Status Root(const At& at);
  Status Metadata(const At& at);
  Status Spec(const At& at);
  Status Gang(const At& at);
  Status Topology(const At& at);
  Status Toleration(const At& at);
  Status Retry(const At& at);
  Status Checkpoint(const At& at);
  Status Dataset(const At& at);
  Status TaskGroup(const At& at);
  Status Resources(const At& at, ResourceRequest& r);

  JobSpec spec_;
  std::optional<At> min_available_at_;
  std::map<std::string, std::string> group_paths_;  // name -> path of the group that has it
  std::map<std::string, std::string> dataset_names_, dataset_mounts_;  // -> path of the item
  // Aliases let a small document expand into a huge tree (the "billion laughs"). Without them,
  // 1 MiB holds at most ~512Ki entries ("[a,a,..." or "{a,b,...}": 2 bytes each), so twice that
  // never rejects a document that is merely large.
  int64_t budget_ = int64_t{1} << 20;
};

Status SpecParser::Spend(const At& at) {
  if (--budget_ >= 0) return {};
  return Fail(at, "the document is too large once its aliases are expanded");
}

Status SpecParser::Entries(const At& at,
                           const std::function<Status(const std::string&, const At&)>& visit) {
  if (!at.node.IsMap()) return TypeError(at, "a mapping");
  std::set<std::string> keys;
  for (auto it = at.node.begin(); it != at.node.end(); ++it) {
    int key_line = LineOf(it->first, at.line);
    At key_at{it->first, at.path, key_line};
    if (Status s = Spend(key_at); !s.ok()) return s;
    if (!it->first.IsScalar()) return Fail(key_at, "keys must be strings");
    const std::string& key = it->first.Scalar();
    // yaml-cpp keeps both entries of a duplicated key and lookups see only the first.
    if (!keys.insert(key).second) return Fail(Child(at, key, it->first, key_line), "duplicate key");
    At value = Child(at, key, it->second, LineOf(it->second, key_line));
    if (it->second.IsNull()) value.line = key_line;
    if (Status s = visit(key, value); !s.ok()) return s;
  }
  return {};
}

Status SpecParser::Walk(const At& at, std::span<const FieldRule> rules, Seen* seen) {
  Seen local;
  if (seen == nullptr) seen = &local;
  Status s = Entries(at, [&](const std::string& key, const At& value) -> Status {
    auto rule = std::ranges::find(rules, std::string_view(key), &FieldRule::key);
    if (rule == rules.end()) return Fail(value, "unknown field");
    if (value.node.IsNull()) return {};  // `key:` with no value: absent, as in Kubernetes
    seen->emplace(rule->key, value);
    return rule->handle(value);
  });
  if (!s.ok()) return s;
  for (const FieldRule& rule : rules) {
    if (rule.required && !seen->contains(rule.key)) {
      return Fail(Child(at, rule.key, at.node, at.line), "required field is missing");
    }
  }
  return {};
}

Status SpecParser::Items(const At& at, const std::function<Status(const At&)>& visit) {
  if (!at.node.IsSequence()) return TypeError(at, "a list");
  for (size_t i = 0; i < at.node.size(); ++i) {
    At item = Item(at, i, at.node[i]);
    if (Status s = Spend(item); !s.ok()) return s;
    if (Status s = visit(item); !s.ok()) return s;
  }
  return {};
}

Handler SpecParser::Str(std::string* out, Check check) {
  return [out, check = std::move(check)](const At& at) -> Status {
    Result<std::string> text = ScalarText(at, "a string");
    if (!text) return text.error();
    if (check) {
      if (std::optional<std::string> problem = check(*text)) return Fail(at, *problem);
    }
    *out = std::move(*text);
    return {};
  };
}

Handler SpecParser::StrList(std::vector<std::string>* out, Check check, bool non_empty) {
  return [this, out, check = std::move(check), non_empty](const At& at) -> Status {
    out->clear();
    Status s = Items(at, [&](const At& item) -> Status {
      out->emplace_back();
      return Str(&out->back(), check)(item);
    });
    if (s.ok() && non_empty && out->empty()) return Fail(at, "must not be empty");
    return s;
  };
}

Handler SpecParser::StrMap(std::map<std::string, std::string>* out, Check key_check,
                           Check value_check) {
  return [this, out, key_check = std::move(key_check),
          value_check = std::move(value_check)](const At& at) -> Status {
    return Entries(at, [&](const std::string& key, const At& value) -> Status {
      if (std::optional<std::string> problem = key_check(key)) return Fail(value, *problem);
      return Str(&(*out)[key], value_check)(value);
    });
  };
}

template <typename T>
Handler SpecParser::Int(T* out, int64_t min, int64_t max) {
  return [out, min, max](const At& at) -> Status {
    Result<int64_t> v = ParseInteger<int64_t>(at, min, max);
    if (!v) return v.error();
    *out = static_cast<typename ValueOf<T>::type>(*v);
    return {};
  };
}

template <typename T>
Handler SpecParser::Quantity(T* out, std::optional<int64_t> (*parse)(std::string_view), int64_t min,
                             int64_t max, std::string what) {
  return [out, parse, min, max, what = std::move(what)](const At& at) -> Status {
    Result<std::string> text = ScalarText(at, what);
    if (!text) return text.error();
    std::optional<int64_t> v = parse(*text);
    if (!v || *v < min || *v > max)
      return Fail(at, "must be " + what + " (got " + Quote(*text) + ")");
    *out = *v;
    return {};
  };
}

// ---- Checks

Check NonEmpty() {
  return [](std::string_view s) -> std::optional<std::string> {
    if (s.empty()) return "must not be empty";
    return std::nullopt;
  };
}

Check OneOf(std::vector<std::string_view> allowed) {
  return [allowed = std::move(allowed)](std::string_view s) -> std::optional<std::string> {
    if (std::ranges::find(allowed, s) != allowed.end()) return std::nullopt;
    std::string list;
    for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + Quote(a);
    return "must be one of " + list + " (got " + Quote(s) + ")";
  };
}

// An absolute path without "." or ".." segments or ':' (the sandbox's --ro=SOURCE:TARGET):
// where a dataset appears to the task.
Check AbsolutePath() {
  return [](std::string_view s) -> std::optional<std::string> {
    if (IsCleanAbsolutePath(s) && s.find(':') == s.npos) return std::nullopt;
    return "must be an absolute path like \"/data/mnist\" without ':' or empty, \".\" or \"..\" "
           "segments (got " + Quote(s) + ")";
  };
}

Check DnsLabel() {
  return [](std::string_view s) -> std::optional<std::string> {
    if (IsDnsLabel(s)) return std::nullopt;
    return "must be a DNS label: at most 63 lower-case letters, digits and '-', starting and "
           "ending with a letter or digit (got " +
           Quote(s) + ")";
  };
}

Check LabelKey() {
  return [](std::string_view s) -> std::optional<std::string> {
    if (IsLabelKey(s)) return std::nullopt;
    return "invalid key " + Quote(s) +
           ": must be [prefix/]name, the name at most 63 of [A-Za-z0-9._-] starting and ending "
           "with a letter or digit, the prefix a DNS subdomain";
  };
}

Check LabelValue() {
  return [](std::string_view s) -> std::optional<std::string> {
    if (IsLabelName(s, true)) return std::nullopt;
    return "must be empty or at most 63 of [A-Za-z0-9._-] starting and ending with a letter or "
           "digit (got " +
           Quote(s) + ")";
  };
}

Check EnvName() {
  return [](std::string_view s) -> std::optional<std::string> {
    if (!IsEnvName(s))
      return "invalid variable name " + Quote(s) + ": must be [A-Za-z_][A-Za-z0-9_]*";
    if (IsReservedEnv(s)) return Quote(s) + " is reserved: kumo sets it for every task";
    return std::nullopt;
  };
}

Check RelativePath() {
  return [](std::string_view s) -> std::optional<std::string> {
    if (s.empty()) return "must not be empty";
    if (s.front() == '/') return "must be relative to KUMO_OUTPUT_DIR (got " + Quote(s) + ")";
    if (s.find('\0') != std::string_view::npos) return "must not contain NUL characters";
    for (size_t start = 0;;) {
      size_t slash = s.find('/', start);
      if (s.substr(start, slash - start) == "..") {
        return "must not leave KUMO_OUTPUT_DIR ('..' in " + Quote(s) + ")";
      }
      if (slash == std::string_view::npos) return std::nullopt;
      start = slash + 1;
    }
  };
}

// ---- Sections of the document

Result<JobSpec> SpecParser::Parse(const YAML::Node& root) {
  if (Status s = Root({root, "", LineOf(root, 1)}); !s.ok()) return Error(std::move(s));
  return std::move(spec_);
}

Status SpecParser::Root(const At& at) {
  std::string api_version, kind;
  const FieldRule rules[] = {
      {"apiVersion", Str(&api_version, OneOf({kJobApiVersion})), true},
      {"kind", Str(&kind, OneOf({"Job"})), true},
      {"metadata", Map(&SpecParser::Metadata)},
      {"spec", Map(&SpecParser::Spec), true},
  };
  return Walk(at, rules);
}

Status SpecParser::Metadata(const At& at) {
  const FieldRule rules[] = {
      {"name", Str(&spec_.name, DnsLabel())},
      {"labels", StrMap(&spec_.labels, LabelKey(), LabelValue())},
      {"annotations", StrMap(&spec_.annotations, LabelKey(), {})},
  };
  return Walk(at, rules);
}

const char kDuration[] = "a duration like \"90s\", \"30m\", \"2h\", \"1h30m\" or \"1d\"";
const char kPositiveDuration[] =
    "a positive duration like \"90s\", \"30m\", \"2h\", \"1h30m\" or \"1d\"";

Status SpecParser::Spec(const At& at) {
  const FieldRule rules[] = {
      {"project", Str(&spec_.project, NonEmpty()), true},
      {"priorityClass", Str(&spec_.priority_class, NonEmpty())},
      {"seed",
       [this](const At& a) -> Status {
         Result<uint64_t> v = ParseInteger<uint64_t>(a, 0, std::numeric_limits<uint64_t>::max());
         if (!v) return v.error();
         spec_.seed = *v;
         return {};
       }},
      {"gang", Map(&SpecParser::Gang)},
      {"topology", Map(&SpecParser::Topology)},
      {"nodeSelector", StrMap(&spec_.node_selector, LabelKey(), LabelValue())},
      {"tolerations",
       [this](const At& a) { return Items(a, [this](const At& t) { return Toleration(t); }); }},
      {"maxRuntime", Quantity(&spec_.max_runtime_s, ParseDurationSeconds, 1,
                              std::numeric_limits<int64_t>::max(), kPositiveDuration)},
      {"retry", Map(&SpecParser::Retry)},
      {"checkpoint", Map(&SpecParser::Checkpoint)},
      {"datasets",
       [this](const At& a) { return Items(a, [this](const At& d) { return Dataset(d); }); }},
      {"outputs", StrList(&spec_.outputs, RelativePath())},
      {"taskGroups",
       [this](const At& a) -> Status {
         Status s = Items(a, [this](const At& g) { return TaskGroup(g); });
         if (s.ok() && spec_.task_groups.empty()) return Fail(a, "must list at least one group");
         return s;
       },
       true},
  };
  if (Status s = Walk(at, rules); !s.ok()) return s;
  // Only now is the total known.
  if (min_available_at_ && *spec_.min_available > spec_.TotalTasks()) {
    return Fail(*min_available_at_, "must be at most the job's " +
                                        std::to_string(spec_.TotalTasks()) + " tasks (got " +
                                        std::to_string(*spec_.min_available) + ")");
  }
  return {};
}

Status SpecParser::Gang(const At& at) {
  Seen seen;
  const FieldRule rules[] = {
      {"minAvailable", Int(&spec_.min_available, 1, std::numeric_limits<int32_t>::max()), true},
  };
  if (Status s = Walk(at, rules, &seen); !s.ok()) return s;
  min_available_at_ = seen.at("minAvailable");
  return {};
}

Status SpecParser::Topology(const At& at) {
  std::string mode = "preferred";
  const FieldRule rules[] = {
      {"level", Str(&spec_.topology.level, NonEmpty()), true},
      {"mode", Str(&mode, OneOf({"required", "preferred"}))},
  };
  if (Status s = Walk(at, rules); !s.ok()) return s;
  spec_.topology.required = mode == "required";
  return {};
}

Status SpecParser::Toleration(const At& at) {
  TolerationSpec& t = spec_.tolerations.emplace_back();
  Seen seen;
  const FieldRule rules[] = {
      {"key", Str(&t.key, LabelKey())},
      {"operator", Str(&t.op, OneOf({"Equal", "Exists"}))},
      {"value", Str(&t.value, LabelValue())},
      {"effect", Str(&t.effect, OneOf({"", "NoSchedule", "PreferNoSchedule", "NoExecute"}))},
  };
  if (Status s = Walk(at, rules, &seen); !s.ok()) return s;
  // As in Kubernetes: Exists matches any value, so a value is a mistake; Equal needs a key.
  if (t.op == "Exists" && !t.value.empty()) {
    return Fail(seen.at("value"), "must be empty when operator is Exists");
  }
  if (t.op == "Equal" && t.key.empty()) {
    return Fail(Child(at, "key", at.node, at.line), "required when operator is Equal");
  }
  return {};
}

Status SpecParser::Retry(const At& at) {
  RetrySpec& r = spec_.retry;
  Seen seen;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const FieldRule rules[] = {
      {"backoffLimit", Int(&r.backoff_limit, 0, 100)},
      {"backoff", Quantity(&r.backoff_s, ParseDurationSeconds, 0, kMax, kDuration)},
      {"maxBackoff", Quantity(&r.max_backoff_s, ParseDurationSeconds, 0, kMax, kDuration)},
  };
  if (Status s = Walk(at, rules, &seen); !s.ok()) return s;
  if (r.max_backoff_s < r.backoff_s) {
    if (seen.contains("maxBackoff")) {
      return Fail(seen.at("maxBackoff"),
                  "must be at least retry.backoff (" + std::to_string(r.backoff_s) + "s)");
    }
    r.max_backoff_s = r.backoff_s;  // the default cap is below the asked first delay
  }
  return {};
}

Status SpecParser::Checkpoint(const At& at) {
  CheckpointSpec& c = spec_.checkpoint;
  const FieldRule rules[] = {
      {"enabled",
       [&c](const At& a) -> Status {
         Result<std::string> text = ScalarText(a, "true or false");
         if (!text) return text.error();
         if (*text != "true" && *text != "false")
           return Fail(a, "must be true or false (got " + Quote(*text) + ")");
         c.enabled = *text == "true";
         return {};
       }},
      {"intervalSeconds", Int(&c.interval_s, 1, 10LL * 365 * 24 * 3600)},  // <= 10 years
      {"signal",
       [&c](const At& a) -> Status {
         Result<std::string> text = ScalarText(a, "a signal name");
         if (!text) return text.error();
         std::optional<int> sig = ParseSignal(*text);
         if (!sig)
           return Fail(
               a, "must be a signal like \"SIGTERM\" or \"SIGUSR1\" (got " + Quote(*text) + ")");
         if (*sig == SIGKILL || *sig == SIGSTOP) {
           return Fail(
               a, "cannot be caught, so the task could not checkpoint (got " + Quote(*text) + ")");
         }
         c.signal = *sig;
         return {};
       }},
      {"gracePeriod", Quantity(&c.grace_period_s, ParseDurationSeconds, 0, 3600,
                               "a duration of at most 1h like \"30s\" or \"5m\"")},
  };
  return Walk(at, rules);
}

Status SpecParser::Dataset(const At& at) {
  DatasetRef& d = spec_.datasets.emplace_back();
  Seen seen;
  const FieldRule rules[] = {
      {"name", Str(&d.name, DnsLabel()), true},
      {"version", Int(&d.version, 1, std::numeric_limits<int64_t>::max())},
      {"mountPath", Str(&d.mount_path, AbsolutePath()), true},
  };
  if (Status s = Walk(at, rules, &seen); !s.ok()) return s;
  auto [it, inserted] = dataset_names_.emplace(d.name, at.path);
  if (!inserted)
    return Fail(seen.at("name"),
                "duplicate dataset " + Quote(d.name) + " (also " + it->second + ")");
  auto [mit, mount_inserted] = dataset_mounts_.emplace(d.mount_path, at.path);
  if (!mount_inserted)
    return Fail(seen.at("mountPath"),
                "duplicate mountPath " + Quote(d.mount_path) + " (also " + mit->second + ")");
  return {};
}

Status SpecParser::TaskGroup(const At& at) {
  TaskGroupSpec& g = spec_.task_groups.emplace_back();
  Seen seen;
  const FieldRule rules[] = {
      {"name", Str(&g.name, DnsLabel()), true},
      {"replicas", Int(&g.replicas, 1, kMaxReplicas)},
      {"command", StrList(&g.command, {}, /*non_empty=*/true), true},
      {"workingDir", Str(&g.working_dir)},
      {"image", Str(&g.image, NonEmpty())},
      {"env", StrMap(&g.env, EnvName(), {})},
      {"resources", [this, &g](const At& a) { return Resources(a, g.resources); }},
  };
  if (Status s = Walk(at, rules, &seen); !s.ok()) return s;
  if (g.command.front().empty()) {
    const At& command = seen.at("command");
    const YAML::Node& argv = command.node;
    return Fail(Item(command, 0, argv[0]), "the program must not be empty");
  }
  auto [it, inserted] = group_paths_.emplace(g.name, at.path);
  if (!inserted)
    return Fail(seen.at("name"),
                "duplicate task group name " + Quote(g.name) + " (also " + it->second + ")");
  return {};
}

Status SpecParser::Resources(const At& at, ResourceRequest& r) {
  Seen seen;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const FieldRule rules[] = {
      {"cpu", Quantity(&r.cpu_millis, ParseCpuMillis, 1, kMax,
                       "a positive CPU quantity like \"2\", \"0.5\" or \"500m\"")},
      {"memory",
       Quantity(&r.memory_bytes, ParseMemoryBytes, 1, kMax,
                "a positive memory quantity in whole bytes like \"2Gi\", \"512Mi\" or \"1G\"")},
      {"gpu",
       Quantity(&r.gpu_milli, ParseGpuMilli, 0, kMax, "a whole number of GPUs or a share below 1")},
      {"gpuModels", StrList(&r.gpu_models, NonEmpty())},
      {"extended",
       [this, &r](const At& a) {
         return Entries(a, [&r](const std::string& key, const At& value) -> Status {
           if (std::optional<std::string> problem = LabelKey()(key)) return Fail(value, *problem);
           Result<int64_t> v = ParseInteger<int64_t>(value, 0, kMax);
           if (!v) return v.error();
           r.extended[key] = *v;
           return {};
         });
       }},
  };
  if (Status s = Walk(at, rules, &seen); !s.ok()) return s;
  // A model list without GPUs is almost certainly a forgotten `gpu:`.
  if (!r.gpu_models.empty() && r.gpu_milli == 0) {
    return Fail(seen.at("gpuModels"), "needs resources.gpu: the group asks for no GPU");
  }
  return {};
}

// Counts document starts and remembers where the last two began.
class DocumentStarts : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    previous_ = last_;
    last_ = mark.pos;
    line_ = mark.line;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  bool stalled() const { return previous_ >= 0 && previous_ == last_; }
  int line() const { return line_ + 1; }

 private:
  int previous_ = -1, last_ = -1, line_ = 0;
};

// yaml-cpp 0.7's LoadAll never returns on some malformed flow mappings (a stray `},` line after
// one): its parser keeps reporting a new, empty document at the same position, and LoadAll
// collects them until memory runs out. Found by fuzz/job_spec_fuzz.cc (the seed pretty.json
// with a line duplicated). The documents are walked first, without building nodes; the line
// where they stop advancing is reported, so only text on which LoadAll terminates reaches it.
// Throws YAML::Exception on a syntax error, as LoadAll would.
std::optional<int> LineWhereParsingStalls(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts starts;
  while (parser.HandleNextDocument(starts))
    if (starts.stalled()) return starts.line();
  return std::nullopt;
}

// ============================================================================================
// JSON

nlohmann::json ResourcesToJson(const ResourceRequest& r) {
  return {{"cpuMillis", r.cpu_millis},
          {"memoryBytes", r.memory_bytes},
          {"gpuMilli", r.gpu_milli},
          {"gpuModels", r.gpu_models},
          {"extended", r.extended}};
}

nlohmann::json TaskGroupToJson(const TaskGroupSpec& g) {
  return {{"name", g.name},       {"replicas", g.replicas},
          {"command", g.command}, {"workingDir", g.working_dir},
          {"image", g.image},     {"env", g.env},
          {"resources", ResourcesToJson(g.resources)}};
}

}  // namespace

// ============================================================================================
// Public API

int32_t JobSpec::TotalTasks() const {
  int64_t total = 0;
  for (const TaskGroupSpec& g : task_groups) total += g.replicas;
  // Saturate: no real job comes near, but a hostile one must not wrap around.
  return static_cast<int32_t>(std::min<int64_t>(total, std::numeric_limits<int32_t>::max()));
}

int64_t JobSpec::TotalGpuMilli() const {
  int64_t milli = 0;
  for (const TaskGroupSpec& g : task_groups) milli += g.resources.gpu_milli * g.replicas;
  return milli;
}

Result<JobSpec> ParseJobSpec(std::string_view yaml_text) {
  if (yaml_text.size() > kMaxJobSpecBytes) {
    return Error(DocumentError(1, "the document is " + std::to_string(yaml_text.size()) +
                                      " bytes, above the limit of 1 MiB"));
  }
  try {
    std::string text(yaml_text);
    if (std::optional<int> line = LineWhereParsingStalls(text))
      return Error(DocumentError(*line, "malformed document: parsing does not advance past here "
                                        "(an unbalanced '}' or ']'?)"));
    std::vector<YAML::Node> docs = YAML::LoadAll(text);
    // An empty document (a trailing `---`, a file of comments) carries nothing: skip it.
    std::erase_if(docs, [](const YAML::Node& d) { return d.IsNull(); });
    if (docs.empty()) return Error(DocumentError(1, "the document is empty: expected a Job"));
    if (docs.size() > 1) {
      return Error(DocumentError(
          LineOf(docs[1], 1), "expected one YAML document, found " + std::to_string(docs.size())));
    }
    if (!docs[0].IsMap()) {
      return Error(DocumentError(LineOf(docs[0], 1),
                                 "the document must be a mapping (got " + KindOf(docs[0]) + ")"));
    }
    return SpecParser().Parse(docs[0]);
  } catch (const YAML::Exception& e) {
    return Error(YamlSyntaxError("", e));
  } catch (const std::exception& e) {
    // The text of DocumentError, with the code of a failure of ours rather than of the text.
    return Error(
        Status(StatusCode::kInternal,
               DocumentError(1, "cannot parse the document: " + std::string(e.what())).message()));
  }
}

std::optional<int> ParseSignal(std::string_view name) {
  static constexpr std::pair<std::string_view, int> kSignals[] = {
      {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ABRT", SIGABRT},
      {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},
      {"ALRM", SIGALRM}, {"TERM", SIGTERM},     {"CHLD", SIGCHLD}, {"CONT", SIGCONT},
      {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},     {"URG", SIGURG},   {"XCPU", SIGXCPU},
      {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
      {"IO", SIGIO},     {"PWR", SIGPWR},       {"SYS", SIGSYS},
  };
  if (std::optional<int64_t> n = ParseDigits(name)) {
    // Linux numbers signals 1..64 (31 standard, the rest real-time).
    if (*n >= 1 && *n <= 64) return static_cast<int>(*n);
    return std::nullopt;
  }
  if (name.starts_with("SIG")) name.remove_prefix(3);
  auto it = std::ranges::find(kSignals, name, &std::pair<std::string_view, int>::first);
  if (it == std::end(kSignals)) return std::nullopt;
  return it->second;
}

// The job spec's quantities are base/quantity.h's grammar; only the GPU rule is the spec's own.
std::optional<int64_t> ParseCpuMillis(std::string_view text) { return Value(ParseMilli(text)); }

std::optional<int64_t> ParseGpuMilli(std::string_view text) {
  std::optional<int64_t> v = Value(ParseMilli(text));
  // A task gets whole GPUs or a share of one GPU, never 1.5 (the device would be split across
  // tasks in two ways at once).
  if (v && *v >= 1000 && *v % 1000 != 0) return std::nullopt;
  return v;
}

std::optional<int64_t> ParseMemoryBytes(std::string_view text) { return Value(ParseBytes(text)); }

std::optional<int64_t> ParseDurationSeconds(std::string_view text) {
  return Value(kumo::ParseDurationSeconds(text));
}

nlohmann::json JobSpecToJson(const JobSpec& spec) {
  nlohmann::json metadata = {{"labels", spec.labels}, {"annotations", spec.annotations}};
  if (!spec.name.empty()) metadata["name"] = spec.name;

  nlohmann::json s = {
      {"project", spec.project},
      {"priorityClass", spec.priority_class},
      {"topology",
       {{"level", spec.topology.level},
        {"mode", spec.topology.required ? "required" : "preferred"}}},
      {"nodeSelector", spec.node_selector},
      {"retry",
       {{"backoffLimit", spec.retry.backoff_limit},
        {"backoffSeconds", spec.retry.backoff_s},
        {"maxBackoffSeconds", spec.retry.max_backoff_s}}},
      {"checkpoint",
       {{"enabled", spec.checkpoint.enabled},
        {"signal", spec.checkpoint.signal},
        {"gracePeriodSeconds", spec.checkpoint.grace_period_s}}},
      {"outputs", spec.outputs},
  };
  if (spec.seed) s["seed"] = *spec.seed;
  if (spec.min_available) s["gang"] = {{"minAvailable", *spec.min_available}};
  if (spec.max_runtime_s) s["maxRuntimeSeconds"] = *spec.max_runtime_s;
  if (spec.checkpoint.interval_s)
    s["checkpoint"]["intervalSeconds"] = *spec.checkpoint.interval_s;
  s["tolerations"] = nlohmann::json::array();
  for (const TolerationSpec& t : spec.tolerations) {
    s["tolerations"].push_back(
        {{"key", t.key}, {"operator", t.op}, {"value", t.value}, {"effect", t.effect}});
  }
  s["datasets"] = nlohmann::json::array();
  for (const DatasetRef& d : spec.datasets) {
    s["datasets"].push_back({{"name", d.name},
                             {"version", d.version ? nlohmann::json(d.version) : nullptr},
                             {"mountPath", d.mount_path}});
    if (!d.digest.empty()) s["datasets"].back()["digest"] = d.digest;
  }
  s["taskGroups"] = nlohmann::json::array();
  for (const TaskGroupSpec& g : spec.task_groups) s["taskGroups"].push_back(TaskGroupToJson(g));

  return {{"apiVersion", kJobApiVersion}, {"kind", "Job"}, {"metadata", metadata}, {"spec", s}};
}

}  // namespace kumo::api
