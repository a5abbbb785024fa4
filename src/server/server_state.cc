#include "server/server_state.h"

#include "base/random.h"
#include "base/sha256.h"

namespace kumo::server {

void ServerState::Kick() {
  dirty = true;
  cv.notify_all();
  ++changes;
  changed.notify_all();
}

void ServerState::SaveJob(const JobRec& job) { pending_writes.push_back(JobStore::Update(job)); }

void ServerState::SaveTasks(const JobRec& job) {
  for (store::Statement& s : JobStore::SaveTasks(job)) pending_writes.push_back(std::move(s));
}

void ServerState::AddEvent(const JobRec* job, const std::string& object, const std::string& type,
                           const std::string& reason, const std::string& message, double now) {
  pending_writes.push_back(JobStore::AddEvent(
      now, job ? std::optional<int64_t>(job->id) : std::nullopt, object, type, reason, message));
  ++changes;
  changed.notify_all();
}

std::future<Status> ServerState::Flush(bool barrier) {
  std::vector<store::Statement> w;
  w.swap(pending_writes);
  // Writes commit in queue order, so an empty write is ready only once everything queued before
  // it (e.g. the loop's last flush, perhaps still committing) has committed.
  if (barrier) return store->Write(std::move(w));
  if (w.empty()) {
    std::promise<Status> p;
    p.set_value(Status::Ok());
    return p.get_future();
  }
  return store->Write(std::move(w));
}

std::string ServerState::CreateToken(const std::string& user, double now, double ttl_s) {
  std::string token = "kumo_";
  static const char* alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  while (token.size() < 45) {  // 40 characters, uniform: bytes >= 248 (= 4 * 62) are dropped
    unsigned char r[48];
    RandomBytes(r, sizeof r);
    for (unsigned char c : r)
      if (c < 248 && token.size() < 45) token.push_back(alphabet[c % 62]);
  }
  std::string hash = Sha256Hex(token);
  double expires_at = ttl_s > 0 ? now + ttl_s : 0;
  tokens[hash] = TokenRec{user, expires_at};
  pending_writes.push_back(
      {"INSERT INTO tokens(sha256, user, created_at, expires_at) VALUES(?1, ?2, ?3, ?4)",
       {hash, user, now, expires_at > 0 ? store::Value(expires_at) : store::Value(nullptr)}});
  return token;
}

int ServerState::RevokeTokens(const std::string& user) {
  int revoked = 0;
  for (auto it = tokens.begin(); it != tokens.end();) {
    if (it->second.user != user) {
      ++it;
      continue;
    }
    it = tokens.erase(it);
    ++revoked;
  }
  pending_writes.push_back({"DELETE FROM tokens WHERE user=?1", {user}});
  return revoked;
}

std::string ServerState::JobDir(int64_t id) const {
  return config.data_dir + "/jobs/" + std::to_string(id);
}

std::string ServerState::AttemptDir(int64_t id, int32_t attempt) const {
  return JobDir(id) + "/attempt-" + std::to_string(attempt);
}

}  // namespace kumo::server
