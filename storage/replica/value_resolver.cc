#include "storage/replica/value_resolver.h"

#include <algorithm>
#include <array>

namespace daicho::storage {
namespace {

// The `changes` key of a dot: origin(16) | seq(8, big-endian).
std::array<char, 24> ChangeKey(const Dot& dot) {
  std::array<char, 24> key{};
  const std::string_view origin = dot.origin.AsStringView();
  std::copy(origin.begin(), origin.end(), key.begin());
  for (int i = 0; i < 8; ++i) key[16 + i] = static_cast<char>((dot.counter >> (56 - 8 * i)) & 0xff);
  return key;
}

std::string DotText(const Dot& dot) { return dot.origin.ToHex() + ":" + std::to_string(dot.counter); }

std::string RecordText(std::string_view collection, std::string_view id) {
  return std::string(collection) + "/" + std::string(id);
}

}  // namespace

Result<const ChangeView*> ValueResolver::ViewOf(const Dot& dot) {
  if (held_ != nullptr && held_->dot == dot) return &held_->view;
  if (last_dot_ != nullptr && *last_dot_ == dot) return last_view_;
  auto it = views_.find(dot);
  if (it == views_.end()) {
    const std::array<char, 24> key = ChangeKey(dot);
    auto payload = txn_.Get(changes_, std::string_view(key.data(), key.size()));
    if (!payload.ok()) {
      if (payload.status().code() == Code::kNotFound) {
        return Corruption("change " + DotText(dot) + " is missing from the change log");
      }
      return payload.status();
    }
    auto view = ChangeView::Parse(*payload, limits_);
    if (!view.ok()) return view.status().WithContext("change " + DotText(dot));
    it = views_.emplace(dot, *view).first;
  }
  last_dot_ = &it->first;
  last_view_ = &it->second;
  return last_view_;
}

Status ValueResolver::Resolve(std::string_view collection, std::string_view id, core::RecordState& state) {
  slots_.clear();
  for (core::FieldState& f : state.fields) {
    if (!f.reg) continue;
    for (core::RegisterSibling& s : f.reg->siblings) slots_.push_back(Slot{s.dot, f.name, &s.value});
  }
  return ResolveSlots(collection, id);
}

Status ValueResolver::ResolveMultiSibling(std::string_view collection, std::string_view id, core::RecordState& state) {
  slots_.clear();
  for (core::FieldState& f : state.fields) {
    if (!f.reg || f.reg->siblings.size() < 2) continue;
    for (core::RegisterSibling& s : f.reg->siblings) slots_.push_back(Slot{s.dot, f.name, &s.value});
  }
  return ResolveSlots(collection, id);
}

// Slots come by field name; grouping them by dot (stably) keeps each group's
// names ascending, as RegisterValues wants. Usually every sibling of a
// record has one dot: then no sort, one Find and one pass over its ops.
Status ValueResolver::ResolveSlots(std::string_view collection, std::string_view id) {
  if (slots_.empty()) return Status::Ok();
  auto by_dot = [](const Slot& a, const Slot& b) { return a.dot < b.dot; };
  if (!std::is_sorted(slots_.begin(), slots_.end(), by_dot)) {
    std::stable_sort(slots_.begin(), slots_.end(), by_dot);
  }
  for (size_t begin = 0; begin < slots_.size();) {
    const Dot& dot = slots_[begin].dot;
    size_t end = begin + 1;
    while (end < slots_.size() && slots_[end].dot == dot) ++end;
    DAICHO_ASSIGN_OR_RETURN(const ChangeView* view, ViewOf(dot));
    auto ops = view->Find(collection, id);
    if (!ops.ok()) return ops.status().WithContext("change " + DotText(dot));
    if (!*ops) {
      return Corruption("record " + RecordText(collection, id) + " names change " + DotText(dot) +
                        ", which does not touch it");
    }
    names_.clear();
    for (size_t i = begin; i < end; ++i) names_.push_back(slots_[i].field);
    found_.resize(names_.size());
    Status read = (*ops)->RegisterValues(names_, found_);
    if (!read.ok()) return read.WithContext("change " + DotText(dot));
    for (size_t i = begin; i < end; ++i) {
      std::optional<Value>& value = found_[i - begin];
      if (!value) {
        return Corruption("record " + RecordText(collection, id) + " field " + std::string(slots_[i].field) +
                          ": change " + DotText(dot) + " wrote no value to it");
      }
      *slots_[i].value = std::move(*value);
    }
    begin = end;
  }
  return Status::Ok();
}

}  // namespace daicho::storage
