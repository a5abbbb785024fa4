#include "client/format.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace kumo::client {
using nlohmann::json;

std::string FormatAge(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  auto s = static_cast<int64_t>(seconds);
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 86400) return std::to_string(s / 3600) + "h";
  if (s < 365 * 86400) return std::to_string(s / 86400) + "d";
  return std::to_string(s / (365 * 86400)) + "y";
}

std::string AgeOf(const json& time, double now) {
  if (!time.is_number()) return "-";
  return FormatAge(now - time.get<double>());
}

std::string FormatTime(const json& time) {
  if (!time.is_number()) return "-";
  auto t = static_cast<time_t>(time.get<double>());
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

namespace {

size_t DisplayWidth(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;  // count lead bytes only
  return n;
}

std::string Flatten(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\t' || c == '\r') c = ' ';
  return s;
}

}  // namespace

std::string FormatTable(const std::vector<std::string>& headers,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::vector<std::string>> all;
  all.push_back(headers);
  for (const auto& r : rows) all.push_back(r);
  size_t cols = 0;
  for (auto& r : all) {
    for (auto& c : r) c = Flatten(c);
    cols = std::max(cols, r.size());
  }
  std::vector<size_t> width(cols, 0);
  for (const auto& r : all)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], DisplayWidth(r[i]));
  std::string out;
  for (const auto& r : all) {
    std::string line;
    for (size_t i = 0; i < cols; ++i) {
      const std::string cell = i < r.size() ? r[i] : "";
      line += cell;
      if (i + 1 < cols) line.append(width[i] - DisplayWidth(cell) + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

namespace {

// Fixed-point with up to `decimals` digits, trailing zeros (and a bare '.') dropped.
std::string Trimmed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

}  // namespace

std::string FormatGpus(int64_t milli) { return Trimmed(static_cast<double>(milli) / 1000.0, 3); }

std::string FormatBytes(int64_t bytes) {
  static const char* kUnits[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (std::fabs(v) >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  return Trimmed(v, u == 0 ? 0 : 1) + kUnits[u];
}

std::string FormatNumber(const json& v) {
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15)
      return std::to_string(static_cast<int64_t>(d));
  }
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

namespace {

// True when YAML reads `s` back, unquoted, as this same string (not a number, bool, null, or
// something with structure).
bool PlainSafe(const std::string& s) {
  if (s.empty()) return false;
  if (s.front() == ' ' || s.back() == ' ' || s.back() == ':') return false;
  static const char* kSpecial = "-?:,[]{}#&*!|>'\"%@`";
  if (std::string_view(kSpecial).find(s.front()) != std::string_view::npos) {
    // "-x" and "?x" and ":x" are plain in YAML 1.2, but not "- x"; only allow the safe ones.
    if (!((s.front() == '-' || s.front() == ':' || s.front() == '?') && s.size() > 1 &&
          s[1] != ' ' && !std::isdigit(static_cast<unsigned char>(s[1])) && s[1] != '.'))
      return false;
  }
  // Anything that starts like a number (or .inf/.nan) could be read as one.
  unsigned char c0 = static_cast<unsigned char>(s.front());
  if (std::isdigit(c0) || c0 == '.' || c0 == '+') return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos) return false;
  std::string lower;
  for (unsigned char c : s) lower += static_cast<char>(std::tolower(c));
  for (const char* word : {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"})
    if (lower == word) return false;
  return true;
}

// A literal block keeps a multi-line string readable (the spec YAML inside results). Only when
// it round-trips: no carriage returns or other control characters, and the first line does not
// start with a space (the block's indentation is detected from it).
bool LiteralSafe(const std::string& s) {
  if (s.find('\n') == std::string::npos) return false;
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return false;
  size_t first = s.find_first_not_of('\n');
  if (first == std::string::npos) return false;
  if (s[first] == ' ' || s[first] == '\t') return false;
  return true;
}

std::string Quote(const std::string& s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string Key(const std::string& k) { return PlainSafe(k) ? k : Quote(k); }

// Scalars and empty containers: the text after "key: " or "- ". Literal blocks span lines and
// are indented to `block_indent`.
std::string Scalar(const json& v, int block_indent) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case json::value_t::object:
      return "{}";
    case json::value_t::array:
      return "[]";
    case json::value_t::string: {
      const std::string& s = v.get_ref<const std::string&>();
      if (PlainSafe(s)) return s;
      if (!LiteralSafe(s)) return Quote(s);
      size_t trailing = 0;
      while (trailing < s.size() && s[s.size() - 1 - trailing] == '\n') ++trailing;
      std::string out = trailing == 0 ? "|-" : trailing == 1 ? "|" : "|+";
      std::string body = s.substr(0, s.size() - trailing);
      std::string pad(static_cast<size_t>(block_indent), ' ');
      size_t i = 0;
      while (i <= body.size()) {
        size_t j = body.find('\n', i);
        if (j == std::string::npos) j = body.size();
        std::string line = body.substr(i, j - i);
        out += "\n" + (line.empty() ? "" : pad + line);
        i = j + 1;
      }
      for (size_t t = 1; t < trailing; ++t) out += "\n";  // kept by "|+"
      return out;
    }
    default:
      return v.dump(-1, ' ', false, json::error_handler_t::replace);
  }
}

void EmitSeq(const json& arr, int indent, bool inline_first, std::string& out);

void EmitMap(const json& obj, int indent, bool inline_first, std::string& out) {
  bool first = true;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!(first && inline_first)) out.append(static_cast<size_t>(indent), ' ');
    first = false;
    out += Key(it.key()) + ":";
    const json& v = it.value();
    if (v.is_object() && !v.empty()) {
      out += "\n";
      EmitMap(v, indent + 2, false, out);
    } else if (v.is_array() && !v.empty()) {
      out += "\n";
      EmitSeq(v, indent, false, out);  // kubectl style: "- " at the key's column
    } else {
      out += " " + Scalar(v, indent + 2) + "\n";
    }
  }
}

void EmitSeq(const json& arr, int indent, bool inline_first, std::string& out) {
  bool first = true;
  for (const json& v : arr) {
    if (!(first && inline_first)) out.append(static_cast<size_t>(indent), ' ');
    first = false;
    out += "- ";
    if (v.is_object() && !v.empty())
      EmitMap(v, indent + 2, true, out);
    else if (v.is_array() && !v.empty())
      EmitSeq(v, indent + 2, true, out);
    else
      out += Scalar(v, indent + 2) + "\n";
  }
}

}  // namespace

std::string JsonToYaml(const json& v) {
  std::string out;
  if (v.is_object() && !v.empty())
    EmitMap(v, 0, false, out);
  else if (v.is_array() && !v.empty())
    EmitSeq(v, 0, false, out);
  else
    out = Scalar(v, 2) + "\n";
  return out;
}

}  // namespace kumo::client
