#include "http/connection_budget.h"

namespace kumo::http {

std::optional<ConnectionBudget::Id> ConnectionBudget::Admit(Id id, const std::string& ip) {
  std::optional<Id> shed;
  auto same_ip = by_ip_.find(ip);
  if (same_ip != by_ip_.end() && same_ip->second.size() >= limits_.max_unauthenticated_per_ip)
    shed = same_ip->second.front();
  else if (!order_.empty() && order_.size() >= limits_.max_unauthenticated)
    shed = order_.front();
  if (shed) Forget(entries_.find(*shed));
  Entry& e = entries_[id];
  e.ip = ip;
  e.in_order = order_.insert(order_.end(), id);
  std::list<Id>& mine = by_ip_[ip];
  e.in_ip = mine.insert(mine.end(), id);
  return shed;
}

bool ConnectionBudget::Promote(Id id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;
  Entry& e = it->second;
  if (e.authenticated) return true;
  if (authenticated_ >= limits_.max_authenticated) return false;
  Unlink(e);
  e.authenticated = true;
  ++authenticated_;
  return true;
}

void ConnectionBudget::Release(Id id) {
  auto it = entries_.find(id);
  if (it != entries_.end()) Forget(it);
}

void ConnectionBudget::Forget(std::map<Id, Entry>::iterator it) {
  Entry& e = it->second;
  if (e.authenticated)
    --authenticated_;
  else
    Unlink(e);
  entries_.erase(it);
}

void ConnectionBudget::Unlink(Entry& e) {
  order_.erase(e.in_order);
  auto ip = by_ip_.find(e.ip);
  ip->second.erase(e.in_ip);
  if (ip->second.empty()) by_ip_.erase(ip);
}

}  // namespace kumo::http
