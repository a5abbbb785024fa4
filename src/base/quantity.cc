#include "base/quantity.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <string>
#include <utility>

namespace kumo {
namespace {

using u128 = unsigned __int128;

constexpr u128 kInt64Max = static_cast<u128>(std::numeric_limits<int64_t>::max());

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

Status Invalid(std::string_view text, std::string_view why) {
  return Status::InvalidArgument("\"" + std::string(text) + "\": " + std::string(why));
}

// An unsigned decimal ("12", "0.25") as mantissa / 10^scale. The mantissa stays below 2^64 and
// the scale at most 30, so mantissa * (a suffix of at most 2^60) and 10^scale are exact in 128
// bits.
struct Decimal {
  u128 mantissa = 0;
  int scale = 0;
};

Result<Decimal> ParseDecimal(std::string_view text, std::string_view number) {
  if (number.starts_with('-')) return Error(Invalid(text, "must not be negative"));
  if (number.empty() || number.front() == '.' || number.back() == '.')
    return Error(Invalid(text, "not a number"));
  if (size_t dot = number.find('.'); dot != std::string_view::npos) {
    if (number.find('.', dot + 1) != std::string_view::npos)
      return Error(Invalid(text, "not a number"));
    // Trailing fraction zeros carry no value; dropping them keeps "1.000...0" parseable.
    while (number.back() == '0') number.remove_suffix(1);
    if (number.back() == '.') number.remove_suffix(1);
  }
  Decimal d;
  bool in_fraction = false;
  for (char c : number) {
    if (c == '.') {
      in_fraction = true;
      continue;
    }
    if (!IsDigit(c)) return Error(Invalid(text, "not a number"));
    d.mantissa = d.mantissa * 10 + static_cast<unsigned>(c - '0');
    if (d.mantissa > std::numeric_limits<uint64_t>::max() || (in_fraction && ++d.scale > 30))
      return Error(Invalid(text, "too many digits"));
  }
  return d;
}

// number * multiplier when that is a whole number that fits in int64; `unit` names what a
// fraction would be short of ("byte").
Result<int64_t> Scale(std::string_view text, std::string_view number, uint64_t multiplier,
                      std::string_view unit) {
  Result<Decimal> d = ParseDecimal(text, number);
  if (!d) return Error(d.error());
  u128 denominator = 1;
  for (int i = 0; i < d->scale; ++i) denominator *= 10;
  u128 numerator = d->mantissa * multiplier;
  if (numerator % denominator != 0)
    return Error(Invalid(text, "not a whole number of " + std::string(unit) + "s"));
  u128 value = numerator / denominator;
  if (value > kInt64Max)
    return Error(Invalid(text, "too large (at most 2^63-1 " + std::string(unit) + "s)"));
  return static_cast<int64_t>(value);
}

// The digits (with sign and point) before a suffix: "1.5Gi" -> "1.5".
std::string_view NumberPart(std::string_view text) {
  size_t end = 0;
  while (end < text.size() && (IsDigit(text[end]) || text[end] == '.' || text[end] == '-')) ++end;
  return text.substr(0, end);
}

}  // namespace

Result<int64_t> ParseBytes(std::string_view text) {
  // Kubernetes' binarySI and decimalSI suffixes (resource.Quantity's "suffixer").
  static constexpr std::pair<std::string_view, uint64_t> kSuffixes[] = {
      {"", 1},
      {"k", 1000},
      {"M", 1000'000},
      {"G", 1000'000'000},
      {"T", 1000'000'000'000},
      {"P", 1000'000'000'000'000},
      {"E", 1000'000'000'000'000'000},
      {"Ki", uint64_t{1} << 10},
      {"Mi", uint64_t{1} << 20},
      {"Gi", uint64_t{1} << 30},
      {"Ti", uint64_t{1} << 40},
      {"Pi", uint64_t{1} << 50},
      {"Ei", uint64_t{1} << 60},
  };
  std::string_view number = NumberPart(text);
  std::string_view suffix = text.substr(number.size());
  for (const auto& [name, multiplier] : kSuffixes) {
    if (suffix == name) return Scale(text, number, multiplier, "byte");
  }
  return Error(Invalid(text, "unknown size suffix \"" + std::string(suffix) +
                                 "\" (k M G T P E are powers of 1000, Ki Mi Gi Ti Pi Ei of 1024)"));
}

Result<int64_t> ParseMilli(std::string_view text) {
  if (text.ends_with('m')) return Scale(text, text.substr(0, text.size() - 1), 1, "milli-unit");
  return Scale(text, text, 1000, "milli-unit");
}

Result<int64_t> ParseDurationSeconds(std::string_view text) {
  static constexpr std::pair<char, int64_t> kUnits[] = {
      {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
  if (text.empty()) return Error(Invalid(text, "not a duration"));
  if (NumberPart(text) == text) {
    // Plain seconds are an integer, as in the unit form: "90.0" and "1.000" are not durations.
    if (text.starts_with('-')) return Error(Invalid(text, "must not be negative"));
    if (!std::ranges::all_of(text, IsDigit))
      return Error(Invalid(text, "not a whole number of seconds"));
    return Scale(text, text, 1, "second");
  }
  size_t next_unit = 0;  // units must come in descending order, each at most once
  int64_t total = 0;
  for (std::string_view rest = text; !rest.empty();) {
    size_t digits = 0;
    while (digits < rest.size() && IsDigit(rest[digits])) ++digits;
    if (digits == 0 || digits == rest.size())
      return Error(Invalid(text, "not a duration like \"90s\", \"30m\" or \"1h30m\""));
    const auto* unit = std::begin(kUnits) + next_unit;
    while (unit != std::end(kUnits) && unit->first != rest[digits]) ++unit;
    if (unit == std::end(kUnits))
      return Error(Invalid(text, "units are d h m s, in that order, each at most once"));
    next_unit = static_cast<size_t>(unit - std::begin(kUnits)) + 1;
    int64_t n = 0, part = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + digits, n);
    if (ec != std::errc{} || __builtin_mul_overflow(n, unit->second, &part) ||
        __builtin_add_overflow(total, part, &total)) {
      return Error(Invalid(text, "too long (at most 2^63-1 seconds)"));
    }
    rest.remove_prefix(digits + 1);
  }
  return total;
}

}  // namespace kumo
