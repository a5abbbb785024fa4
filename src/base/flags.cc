#include "base/flags.h"

#include <cstdio>
#include <cstdlib>

namespace kumo {

std::optional<int> ParseFlags(CLI::App& app, const std::vector<std::string>& args) {
  // CLI11 takes a vector in reverse order (it pops from the back).
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: %s\nRun '%s --help' for its flags.\n", app.get_name().c_str(),
                 e.what(), app.get_name().c_str());
    return 2;
  }
  return std::nullopt;
}

CLI::Validator NonNegative() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        char* end = nullptr;
        const double x = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !(x >= 0))
          return "\"" + v + "\" is not a non-negative number";
        return "";
      },
      "NONNEGATIVE");
}

}  // namespace kumo
