// A strict, small CSV reader for trace files (RFC 4180 quoting; no embedded newlines).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kumo::sim {

struct CsvTable {
  std::vector<std::string> header;             // trimmed column names
  std::vector<std::vector<std::string>> rows;  // trimmed fields
  std::vector<int> line;                       // 1-based source line of each row
  int Column(std::string_view name) const;     // -1 when absent
};

// Splits one line into trimmed fields. Fails on an unterminated quote.
Result<std::vector<std::string>> SplitCsvLine(std::string_view line);

// Parses text with a header line. Blank lines are skipped. Rows whose field count differs from
// the header are kept (the caller counts them as invalid with their line number).
Result<CsvTable> ParseCsv(std::string_view text);

Result<std::string> ReadFile(const std::string& path);

// A whole field as a base-10 integer / a finite number; false (and *out unchanged) otherwise.
bool ParseInt(const std::string& s, int64_t* out);
bool ParseDouble(const std::string& s, double* out);

}  // namespace kumo::sim
