// Which code a submission runs: recorded with the job so a result can be traced to a commit.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kumo::client {

// Inside a git work tree with a commit:
//   {"gitCommit": HEAD, "gitDirty": bool, "gitDiffSha256": sha256 of `git diff HEAD` ("" when
//    there is no diff), "dir": dir}
// else {"dir": dir}. gitDirty also counts untracked files (`git status --porcelain`), which the
// diff does not cover: a new, uncommitted train.py makes the run irreproducible from the commit
// even though `git diff HEAD` is empty.
nlohmann::json CodeVersion(const std::string& dir);

// stdout of `argv` run in `dir`, byte for byte (trimming would make the diff's hash differ from
// `git diff HEAD | sha256sum`); nullopt when it could not run or exited non-zero.
std::optional<std::string> RunExact(const std::string& dir, const std::vector<std::string>& argv);

}  // namespace kumo::client
