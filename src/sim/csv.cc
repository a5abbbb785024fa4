#include "sim/csv.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace kumo::sim {
namespace {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace

int CsvTable::Column(std::string_view name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

Result<std::vector<std::string>> SplitCsvLine(std::string_view line) {
  std::vector<std::string> out;
  std::string field;
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (was_quoted && !quoted) {
      // After a closing quote only blanks (and a CR) may come before the next comma.
      if (c == ',') {
        out.push_back(field);
        field.clear();
        was_quoted = false;
      } else if (c != ' ' && c != '\t' && c != '\r') {
        return Error(Status::InvalidArgument("text after a closing quote"));
      }
      continue;
    }
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field.push_back(c);
      }
    } else if (c == '"' && Trim(field).empty()) {
      quoted = was_quoted = true;
      field.clear();
    } else if (c == ',') {
      out.push_back(was_quoted ? field : Trim(field));
      field.clear();
      was_quoted = false;
    } else {
      field.push_back(c);
    }
  }
  if (quoted) return Error(Status::InvalidArgument("unterminated quoted field"));
  out.push_back(was_quoted ? field : Trim(field));
  return out;
}

Result<CsvTable> ParseCsv(std::string_view text) {
  CsvTable t;
  int line_no = 0;
  bool have_header = false;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (Trim(line).empty()) continue;
    auto fields = SplitCsvLine(line);
    if (!fields)
      return Error(Status::InvalidArgument("line " + std::to_string(line_no) + ": " +
                                           fields.error().message()));
    if (!have_header) {
      t.header = std::move(*fields);
      have_header = true;
      continue;
    }
    t.rows.push_back(std::move(*fields));
    t.line.push_back(line_no);
  }
  if (!have_header) return Error(Status::InvalidArgument("empty file: no header line"));
  return t;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(Status::NotFound("cannot open " + path));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error(Status::InvalidArgument("error reading " + path));
  return ss.str();
}

bool ParseInt(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE) return false;
  *out = v;
  return true;
}

bool ParseDouble(const std::string& s, double* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (*end != '\0' || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

}  // namespace kumo::sim
