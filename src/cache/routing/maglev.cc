#include "cache/routing/maglev.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "cache/storage/object_path.h"

namespace kumo::cache {
namespace {

// Two independent hashes of a member's name give its offset and skip (§3.4); keys use a third
// seed so key placement is not correlated with either.
constexpr uint64_t kOffsetSeed = 0x6b756d6f2d6f6666ULL;  // "kumo-off"
constexpr uint64_t kSkipSeed = 0x6b756d6f2d736b70ULL;    // "kumo-skp"
constexpr uint64_t kKeySeed = 0x6b756d6f2d6b6579ULL;     // "kumo-key"

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

uint64_t MaglevTable::KeyHash(std::string_view key) {
  return XXH64(key.data(), key.size(), kKeySeed);
}

uint64_t MaglevTable::ObjectHash(std::string_view bucket, std::string_view key) {
  // bucket ≤ 63 bytes and key ≤ kMaxKeyBytes after validation, so the name fits on the stack;
  // longer input (never produced by ParseObjectTarget) is joined on the heap, same hash.
  char buf[64 + 1 + kMaxKeyBytes];
  if (bucket.size() + 1 + key.size() > sizeof buf)
    return KeyHash(std::string(bucket) + "/" + std::string(key));
  std::memcpy(buf, bucket.data(), bucket.size());
  buf[bucket.size()] = '/';
  std::memcpy(buf + bucket.size() + 1, key.data(), key.size());
  return XXH64(buf, bucket.size() + 1 + key.size(), kKeySeed);
}

Result<std::shared_ptr<const MaglevTable>> MaglevTable::Build(std::vector<Member> members) {
  std::sort(members.begin(), members.end(),
            [](const Member& a, const Member& b) { return a.name < b.name; });
  for (size_t i = 0; i < members.size(); ++i) {
    if (members[i].name.empty()) return Error(Status::InvalidArgument("a member has no name"));
    if (members[i].address.empty())
      return Error(Status::InvalidArgument("member " + members[i].name + " has no address"));
    if (i > 0 && members[i].name == members[i - 1].name)
      return Error(Status::InvalidArgument("member " + members[i].name + " is listed twice"));
  }
  std::shared_ptr<MaglevTable> t(new MaglevTable());
  t->members_ = std::move(members);
  const size_t n = t->members_.size();
  if (n == 0) return std::shared_ptr<const MaglevTable>(std::move(t));
  constexpr uint64_t m = kTableSize;
  // Pseudocode 1 of §3.4, with permutation[i][next[i]] computed on the fly instead of stored
  // (offset + next * skip mod M), so the build needs O(N) memory beside the table.
  std::vector<uint64_t> offset(n), skip(n), next(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const std::string& name = t->members_[i].name;
    offset[i] = XXH64(name.data(), name.size(), kOffsetSeed) % m;
    skip[i] = XXH64(name.data(), name.size(), kSkipSeed) % (m - 1) + 1;
  }
  t->entries_.assign(m, -1);
  uint64_t filled = 0;
  while (true) {
    for (size_t i = 0; i < n; ++i) {
      uint64_t c = (offset[i] + next[i] * skip[i]) % m;
      while (t->entries_[c] >= 0) {
        ++next[i];
        c = (offset[i] + next[i] * skip[i]) % m;
      }
      t->entries_[c] = static_cast<int32_t>(i);
      ++next[i];
      if (++filled == m) return std::shared_ptr<const MaglevTable>(std::move(t));
    }
  }
}

int MaglevTable::IndexOf(std::string_view name) const {
  for (size_t i = 0; i < members_.size(); ++i)
    if (members_[i].name == name) return static_cast<int>(i);
  return -1;
}

Result<std::vector<Member>> ParseMemberList(std::string_view text) {
  std::vector<Member> out;
  bool yaml = false;
  for (size_t pos = 0; pos < text.size();) {
    size_t eol = text.find('\n', pos);
    std::string_view line = Trim(text.substr(pos, eol == std::string_view::npos ? eol : eol - pos));
    pos = eol == std::string_view::npos ? text.size() : eol + 1;
    if (line.empty() || line.front() == '#') continue;
    yaml = line.starts_with("members:") || line == "---";
    break;
  }
  if (yaml) {
    try {
      YAML::Node root = YAML::Load(std::string(text));
      YAML::Node list = root["members"];
      if (list && !list.IsNull() && !list.IsSequence())
        return Error(Status::InvalidArgument("members: wants a list"));
      for (const YAML::Node& m : list) {
        if (!m.IsMap() || !m["name"] || !m["address"])
          return Error(Status::InvalidArgument("every member wants name: and address:"));
        out.push_back({m["name"].as<std::string>(), m["address"].as<std::string>()});
      }
    } catch (const YAML::Exception& e) {
      return Error(Status::InvalidArgument(std::string("member file: ") + e.what()));
    }
  } else {
    int line_no = 0;
    for (size_t pos = 0; pos < text.size();) {
      size_t eol = text.find('\n', pos);
      std::string_view line = text.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
      pos = eol == std::string_view::npos ? text.size() : eol + 1;
      ++line_no;
      if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
      line = Trim(line);
      if (line.empty()) continue;
      size_t sp = line.find_first_of(" \t");
      if (sp == std::string_view::npos)
        return Error(Status::InvalidArgument("member file line " + std::to_string(line_no) +
                                             ": want `name host:port`"));
      std::string_view address = Trim(line.substr(sp));
      if (address.find_first_of(" \t") != std::string_view::npos)
        return Error(Status::InvalidArgument("member file line " + std::to_string(line_no) +
                                             ": want `name host:port`"));
      out.push_back({std::string(line.substr(0, sp)), std::string(address)});
    }
  }
  // Names go into X-Kumo-Owner and addresses into Location: no byte that could end a header.
  auto only = [](const std::string& s, std::string_view allowed_punct) {
    for (char ch : s)
      if (!std::isalnum(static_cast<unsigned char>(ch)) &&
          allowed_punct.find(ch) == std::string_view::npos)
        return false;
    return true;
  };
  for (const Member& m : out) {
    if (m.name.empty() || !only(m.name, "._-"))
      return Error(Status::InvalidArgument("member name wants [A-Za-z0-9._-]+, got " + m.name));
    if (!only(m.address, ".-:[]"))
      return Error(Status::InvalidArgument("member " + m.name + ": bad address " + m.address));
    size_t colon = m.address.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == m.address.size() ||
        m.address.find_first_not_of("0123456789", colon + 1) != std::string::npos)
      return Error(Status::InvalidArgument("member " + m.name + ": address wants host:port, got " +
                                           m.address));
  }
  return out;
}

}  // namespace kumo::cache
