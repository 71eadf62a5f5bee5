// Identity's text blocks and the pool that shares them (identity.h).
//
// A block is [atomic count: 4][N uint16 end offsets][text bytes], allocated once and never
// changed: an Identity copy shares it, a change builds a new one. The count is atomic because
// the agent hands identities from the Graph thread to the merge.

#include "cloud/identity.h"

#include <atomic>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <unordered_map>

namespace edgeid::cloud {

namespace {

using Count = std::atomic<std::uint32_t>;
constexpr std::size_t kHeader = sizeof(Count);
static_assert(kHeader % alignof(std::uint16_t) == 0);

Count& count_of(char* block) noexcept {
  return *std::launder(reinterpret_cast<Count*>(block));
}

std::uint16_t end_at(const char* block, std::size_t i) noexcept {
  std::uint16_t end = 0;
  std::memcpy(&end, block + kHeader + i * sizeof end, sizeof end);
  return end;
}

// Where each IdentityText lives: the own run (device-specific) or the shared run, and at which
// index. Own: device_name, user_principal_name, email, serial_number.
struct Slot {
  bool own;
  std::uint8_t index;
};
constexpr std::array<Slot, kIdentityTextCount> kSlots = {{
    {true, 0},   // device_name
    {false, 0},  // os
    {false, 1},  // os_version
    {false, 2},  // enrollment_type
    {true, 1},   // user_principal_name
    {true, 2},   // email
    {false, 3},  // model
    {false, 4},  // manufacturer
    {true, 3},   // serial_number
    {false, 5},  // compliance_state
    {false, 6},  // management_agent
    {false, 7},  // ownership
    {false, 8},  // trust_type
}};

constexpr bool slots_fill_both_runs() {
  std::size_t own = 0;
  std::array<bool, kIdentityTextCount> used{};
  for (const Slot& s : kSlots) {
    own += s.own ? 1 : 0;
    const std::size_t at = s.own ? s.index : IdentityTexts::kOwn + s.index;
    if (at >= used.size() || used[at]) return false;
    used[at] = true;
  }
  return own == IdentityTexts::kOwn;
}
static_assert(slots_fill_both_runs(), "kSlots must map every text to one place of one run");

}  // namespace

template <std::size_t N>
IdentityTexts::Run<N>::Run(const Run& o) noexcept : block_(o.block_) {
  if (block_ != nullptr) count_of(block_).fetch_add(1, std::memory_order_relaxed);
}

template <std::size_t N>
void IdentityTexts::Run<N>::release(char* block) noexcept {
  if (block != nullptr && count_of(block).fetch_sub(1, std::memory_order_acq_rel) == 1) {
    std::destroy_at(&count_of(block));
    ::operator delete(block);
  }
}

template <std::size_t N>
void IdentityTexts::Run<N>::serialise(const std::array<std::string_view, N>& values,
                                      std::string& out) {
  out.assign(N * sizeof(std::uint16_t), '\0');
  constexpr std::size_t kMax = std::numeric_limits<std::uint16_t>::max();
  for (std::size_t i = 0; i < N; ++i) {
    const std::size_t room = kMax - (out.size() - N * sizeof(std::uint16_t));
    out.append(values[i].substr(0, room));
    const auto end = static_cast<std::uint16_t>(out.size() - N * sizeof(std::uint16_t));
    std::memcpy(out.data() + i * sizeof end, &end, sizeof end);
  }
}

template <std::size_t N>
IdentityTexts::Run<N> IdentityTexts::Run<N>::from_serialised(std::string_view serialised) {
  Run run;
  if (serialised.size() <= N * sizeof(std::uint16_t)) return run;  // every text empty
  auto* block = static_cast<char*>(::operator new(kHeader + serialised.size()));
  new (block) Count(1);
  std::memcpy(block + kHeader, serialised.data(), serialised.size());
  run.block_ = block;
  return run;
}

template <std::size_t N>
std::string_view IdentityTexts::Run<N>::get(std::size_t i) const noexcept {
  if (block_ == nullptr) return {};
  const std::size_t begin = i == 0 ? 0 : end_at(block_, i - 1);
  return {block_ + kHeader + N * sizeof(std::uint16_t) + begin, end_at(block_, i) - begin};
}

template <std::size_t N>
std::string_view IdentityTexts::Run<N>::serialised() const noexcept {
  if (block_ == nullptr) return {};
  return {block_ + kHeader, N * sizeof(std::uint16_t) + end_at(block_, N - 1)};
}

template <std::size_t N>
std::size_t IdentityTexts::Run<N>::bytes() const noexcept {
  return block_ == nullptr ? 0 : kHeader + serialised().size();
}

template class IdentityTexts::Run<IdentityTexts::kOwn>;
template class IdentityTexts::Run<IdentityTexts::kShared>;

struct IdentityTextPool::Impl {
  // Keyed by the block's own serialised bytes (stable: blocks never change, the map holds one
  // reference to each).
  std::unordered_map<std::string_view, IdentityTexts::Run<IdentityTexts::kShared>> runs;
  std::string scratch;
  static constexpr std::size_t kMaxRuns = 4096;
};

IdentityTextPool::IdentityTextPool() : impl_(std::make_unique<Impl>()) {}
IdentityTextPool::~IdentityTextPool() = default;

std::string_view IdentityTexts::get(IdentityText field) const noexcept {
  const Slot slot = kSlots[static_cast<std::size_t>(field)];
  return slot.own ? own_.get(slot.index) : shared_.get(slot.index);
}

void IdentityTexts::assign(const std::array<std::string_view, kIdentityTextCount>& values,
                           IdentityTextPool* pool) {
  std::array<std::string_view, kOwn> own{};
  std::array<std::string_view, kShared> shared{};
  for (std::size_t i = 0; i < kIdentityTextCount; ++i) {
    (kSlots[i].own ? own[kSlots[i].index] : shared[kSlots[i].index]) = values[i];
  }
  // The values may view this identity's own blocks: build both new runs before replacing either.
  std::string scratch;
  std::string& key = pool != nullptr ? pool->impl_->scratch : scratch;
  Run<kOwn>::serialise(own, key);
  Run<kOwn> new_own = key == own_.serialised() ? own_ : Run<kOwn>::from_serialised(key);
  Run<kShared>::serialise(shared, key);
  Run<kShared> new_shared;
  if (key == shared_.serialised()) {
    new_shared = shared_;
  } else if (pool == nullptr || key.size() == kShared * sizeof(std::uint16_t)) {
    new_shared = Run<kShared>::from_serialised(key);
  } else if (auto it = pool->impl_->runs.find(key); it != pool->impl_->runs.end()) {
    new_shared = it->second;
  } else {
    new_shared = Run<kShared>::from_serialised(key);
    if (pool->impl_->runs.size() < IdentityTextPool::Impl::kMaxRuns) {
      pool->impl_->runs.emplace(new_shared.serialised(), new_shared);
    }
  }
  own_ = std::move(new_own);
  shared_ = std::move(new_shared);
}

void Identity::set_text(IdentityText field, std::string_view value) {
  // Views into the current blocks stay valid: assign_texts builds before it replaces.
  std::array<std::string_view, kIdentityTextCount> views;
  for (std::size_t i = 0; i < kIdentityTextCount; ++i) {
    views[i] = text(static_cast<IdentityText>(i));
  }
  views[static_cast<std::size_t>(field)] = value;
  assign_texts(views);
}

}  // namespace edgeid::cloud
