// libFuzzer target for the job spec parser (src/api/job_spec.h): the text every user submits,
// YAML or JSON (JSON arrives through the same parser: it is YAML's flow style). Beyond "does
// not crash" (ASan/UBSan) it checks, on every input:
//   - no exception escapes ParseJobSpec (the API handler does not catch one);
//   - an error has a message, and names where: "LINE: field: ..." or the size limit;
//   - an accepted spec has 1..kMaxReplicas replicas per group and a total that adds up, its
//     canonical JSON (JobSpecToJson) can be built and dumped, and parsing the same text again
//     gives the same canonical JSON (no hidden state);
//   - the input, when it is a JSON object, is also submitted re-serialized (compact), so the
//     JSON spellings of the same document are exercised.
// Built with clang -fsanitize=fuzzer (KUMO_FUZZ=ON, `make fuzz`) and under gcc with
// replay_main.cc as the ctest `fuzz_job_spec_replay`.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/job_spec.h"
#include "fuzz_check.h"

namespace {

void Check(std::string_view text) {
  auto spec = kumo::api::ParseJobSpec(text);
  if (!spec) {
    FUZZ_CHECK(!spec.error().message().empty());
    return;
  }
  int64_t total = 0;
  FUZZ_CHECK(!spec->task_groups.empty());
  for (const auto& g : spec->task_groups) {
    FUZZ_CHECK(g.replicas >= 1 && g.replicas <= kumo::api::kMaxReplicas);
    total += g.replicas;
  }
  FUZZ_CHECK(total == spec->TotalTasks());
  nlohmann::json canonical = kumo::api::JobSpecToJson(*spec);
  std::string dumped = canonical.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  FUZZ_CHECK(!dumped.empty());
  auto again = kumo::api::ParseJobSpec(text);
  FUZZ_CHECK(again.has_value() && kumo::api::JobSpecToJson(*again) == canonical);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Check(text);
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object()) Check(doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return 0;
}
