// A dataset version's manifest: the files it holds (relative path, size in bytes, SHA-256 of
// the bytes, and a fast checksum of them), and the digest that is the version's identity.
//
// Wire form (the API body of a push, and what `describe`/`pull` return):
//   {"files": [{"path": "train/0001.png", "size": 1234, "sha256": "9f86d0...",
//               "xxh3": "6a1f..."}, ...]}
// and, for code snapshots, "executable": true on a file that must be run directly.
// "xxh3" is XXH3-128 of the bytes (32 hex digits, the high half first, as
// XXH128_canonicalFromHash writes it): the checksum a pull verifies by default (docs/datasets.md, "Verification"). It is
// optional — manifests pushed before it existed, and by the Python client, have none, and a
// pull of them checks SHA-256 — and written only when present, so those manifests keep their
// canonical form and their digest.
// Canonical form: the files sorted by path (bytewise), each object's keys in the order path,
// sha256, size, xxh3 as nlohmann::json dumps them (sorted), no spaces. Digest = "sha256:" + hex
// SHA-256 of the canonical form, so two pushes of the same tree give the same digest whatever
// order the client listed the files in, and any change to a path, size, byte or checksum gives
// another: the fast checksum is inside the identity, so it cannot be swapped without changing it.
//
// Paths: 1..1024 bytes, '/'-separated, relative, no NUL, no empty, "." or ".." segment (the
// rule of cache keys, src/cache/storage/object_path.h, so a path can never escape the directory
// it is pulled into). At most kMaxManifestFiles files; duplicate paths are refused, as is a path
// that is also a directory of another ("a" and "a/b").
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace kumo::api {

inline constexpr size_t kMaxManifestFiles = 1'000'000;

struct ManifestFile {
  std::string path;
  int64_t size_bytes = 0;
  std::string sha256;  // 64 lower-case hex digits
  std::string xxh3;    // 32 lower-case hex digits (XXH3-128), or empty: not recorded
  // Written "executable": true, and only when true, so manifests of data (where it is never
  // set) keep one canonical form. Code snapshots set it for files with the owner's x bit.
  bool executable = false;
};

struct DatasetManifest {
  std::vector<ManifestFile> files;  // sorted by path

  int64_t TotalBytes() const;
  // The canonical JSON text (see above).
  std::string Canonical() const;
  // "sha256:" + hex SHA-256 of Canonical().
  std::string Digest() const;
};

// Checks a manifest from the wire and sorts it. InvalidArgument names the entry and field:
// "files[3].path: \"..\" segment". Two entries with one sha256 (the same bytes) must agree on
// size and xxh3.
Result<DatasetManifest> ParseManifest(const nlohmann::json& body);

// The wire form of `m`.
nlohmann::json ManifestJson(const DatasetManifest& m);

// Whether `path` is a manifest path (see above); the error says why not.
Status ValidateManifestPath(const std::string& path);

}  // namespace kumo::api
