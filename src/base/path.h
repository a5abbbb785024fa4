// Paths that name exactly what they spell: the one check for a path kumo is handed and then
// acts on as root (a job's submit dir, the sandbox's bind sources and targets, a dataset's
// mountPath), where "/data/jobs/7/../.." must not become the data dir by a string-prefix test.
#pragma once

#include <string_view>

namespace kumo {

// Absolute, and no empty, "." or ".." segment ("/" alone, "/a//b", "/a/" and "/a/./b" are not
// clean), and no NUL. A clean path's string prefix is its directory prefix.
bool IsCleanAbsolutePath(std::string_view path);

// Whether `path` is `dir` or beneath it. REQUIRES: both clean (then a string prefix that ends at
// a '/' is a directory prefix).
bool IsAtOrBeneath(std::string_view path, std::string_view dir);

}  // namespace kumo
