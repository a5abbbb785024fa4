// libFuzzer target for the manifest parser (src/api/dataset_manifest.h): the body of a dataset
// push (POST /v1/datasets/NAME/versions) and of a code snapshot (POST /v1/snapshots), both from
// any member of a project, and the manifest a pull reads back. Beyond "does not crash" it
// checks, on every input that is JSON:
//   - no exception escapes ParseManifest (the handlers do not catch one);
//   - an error names the field ("files..." ) and changes nothing;
//   - an accepted manifest holds what the header promises: paths valid (ValidateManifestPath)
//     and strictly sorted (no duplicate), no path also a directory of another, sizes >= 0,
//     sha256 64 and xxh3 0 or 32 lower-case hex digits, entries with one sha256 agreeing;
//   - its wire form (ManifestJson) parses back to the same canonical text and digest, whatever
//     order the input listed the files in (the digest is the version's identity).
// Built with clang -fsanitize=fuzzer (KUMO_FUZZ=ON, `make fuzz`) and under gcc with
// replay_main.cc as the ctest `fuzz_dataset_manifest_replay`.
#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/dataset_manifest.h"
#include "base/sha256.h"
#include "fuzz_check.h"

namespace {
using kumo::api::DatasetManifest;
using kumo::api::ManifestFile;

void CheckAccepted(const DatasetManifest& m) {
  std::map<std::string, const ManifestFile*> by_sha;
  std::set<std::string> paths;
  for (const ManifestFile& f : m.files) paths.insert(f.path);
  for (size_t i = 0; i < m.files.size(); ++i) {
    const ManifestFile& f = m.files[i];
    FUZZ_CHECK(kumo::api::ValidateManifestPath(f.path).ok());
    FUZZ_CHECK(i == 0 || m.files[i - 1].path < f.path);
    FUZZ_CHECK(f.size_bytes >= 0);
    FUZZ_CHECK(kumo::IsLowerHex(f.sha256, 64));
    FUZZ_CHECK(f.xxh3.empty() || kumo::IsLowerHex(f.xxh3, 32));
    auto [it, fresh] = by_sha.emplace(f.sha256, &f);
    FUZZ_CHECK(fresh || (it->second->size_bytes == f.size_bytes && it->second->xxh3 == f.xxh3));
    // No file is also a directory of another ("a" and "a/b").
    for (size_t j = f.path.find('/'); j != std::string::npos; j = f.path.find('/', j + 1))
      FUZZ_CHECK(!paths.count(f.path.substr(0, j)));
  }
  const std::string canonical = m.Canonical();
  const std::string digest = m.Digest();
  FUZZ_CHECK(digest == "sha256:" + kumo::Sha256Hex(canonical));
  // The wire form, reversed: the order a client lists files in must not change the identity.
  nlohmann::json wire = kumo::api::ManifestJson(m);
  std::reverse(wire["files"].begin(), wire["files"].end());
  auto again = kumo::api::ParseManifest(wire);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->Canonical() == canonical && again->Digest() == digest);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json body = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  // The handlers hand a body that is not JSON to the parser too, as a discarded value.
  auto m = kumo::api::ParseManifest(body);
  if (!m) {
    FUZZ_CHECK(m.error().message().starts_with("files"));
    return 0;
  }
  CheckAccepted(*m);
  return 0;
}
